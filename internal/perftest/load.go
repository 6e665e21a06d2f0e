package perftest

import (
	"context"
	"fmt"
	"math"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// loadDeployment is one Deployment of the load test and its companions.
type loadDeployment struct {
	ns, name, class   string
	replicas          int32 // desired now
	configMap, secret string
	services          []string
	configMaps        []string
	secrets           []string
}

// planLoad splits the pod budget: per namespace, each class gets its
// share of the pods in Deployments of its size; what is left goes to
// Deployments of the first class (the last one smaller if need be).
func (r *Runner) planLoad(nodes int) []*loadDeployment {
	ls := r.spec.Load
	total := nodes * r.spec.PodsPerNode
	nsCount := max(1, (nodes+r.spec.NodesPerNamespace-1)/r.spec.NodesPerNamespace)
	var out []*loadDeployment
	for i := range nsCount {
		ns := r.namespace(i).Name
		budget := total / nsCount
		if i < total%nsCount {
			budget++
		}
		counts := make([]int, len(ls.Deployments))
		left := budget
		for c, cl := range ls.Deployments {
			counts[c] = int(float64(budget) * cl.Share / float64(cl.Replicas))
			left -= counts[c] * cl.Replicas
		}
		add := func(c int, replicas int) {
			cl := ls.Deployments[c]
			d := &loadDeployment{ns: ns, name: fmt.Sprintf("%s-%d", cl.Name, len(out)), class: cl.Name, replicas: int32(replicas)}
			for k := range ls.ConfigMapsPerDeployment {
				d.configMaps = append(d.configMaps, fmt.Sprintf("%s-cm-%d", d.name, k))
			}
			for k := range ls.SecretsPerDeployment {
				d.secrets = append(d.secrets, fmt.Sprintf("%s-secret-%d", d.name, k))
			}
			for k := range ls.ServicesPerDeployment {
				d.services = append(d.services, fmt.Sprintf("%s-svc-%d", d.name, k))
			}
			if len(d.configMaps) > 0 {
				d.configMap = d.configMaps[0]
			}
			if len(d.secrets) > 0 {
				d.secret = d.secrets[0]
			}
			out = append(out, d)
		}
		for c, n := range counts {
			for range n {
				add(c, ls.Deployments[c].Replicas)
			}
		}
		first := ls.Deployments[0].Replicas
		for left > 0 {
			n := min(first, left)
			add(0, n)
			left -= n
		}
	}
	return out
}

// load is upstream's load test: Deployments of several sizes with
// Services, ConfigMaps and Secrets, created, scaled by random factors,
// rolled to a new template and deleted, each phase paced by its tuning set.
func (r *Runner) load(ctx context.Context, nodes int) error {
	ls := r.spec.Load
	plan := r.planLoad(nodes)
	nsCount := max(1, (nodes+r.spec.NodesPerNamespace-1)/r.spec.NodesPerNamespace)
	if err := r.createNamespaces(ctx, nsCount); err != nil {
		return err
	}
	deps, stop, err := r.deploymentCache(ctx)
	if err != nil {
		return err
	}
	defer stop()

	// create: companions first (pods reference them), then Deployments.
	type call struct {
		d    *loadDeployment
		kind string
		name string
	}
	var companions []call
	for _, d := range plan {
		for _, n := range d.configMaps {
			companions = append(companions, call{d, "ConfigMap", n})
		}
		for _, n := range d.secrets {
			companions = append(companions, call{d, "Secret", n})
		}
		for _, n := range d.services {
			companions = append(companions, call{d, "Service", n})
		}
	}
	desired := func() int {
		n := 0
		for _, d := range plan {
			n += int(d.replicas)
		}
		return n
	}
	err = r.phase(ctx, "create", ls.Create.String(), func(ctx context.Context) (int, int, error) {
		heap := r.profileAt(ctx, "create")
		defer heap()
		total := desired()
		r.cfg.Progress.Phase("create", total)
		n, err := r.each(ctx, ls.Create, len(companions), func(ctx context.Context, i int) error {
			c := companions[i]
			var err error
			switch c.kind {
			case "ConfigMap":
				_, err = r.cs.CoreV1().ConfigMaps(c.d.ns).Create(ctx, r.configMap(c.d.ns, c.name), metav1.CreateOptions{})
			case "Secret":
				_, err = r.cs.CoreV1().Secrets(c.d.ns).Create(ctx, r.secret(c.d.ns, c.name), metav1.CreateOptions{})
			case "Service":
				_, err = r.cs.CoreV1().Services(c.d.ns).Create(ctx, r.service(c.d.ns, c.name, c.d.name), metav1.CreateOptions{})
			}
			if err != nil {
				return fmt.Errorf("create %s %s/%s: %w", c.kind, c.d.ns, c.name, err)
			}
			return nil
		}, nil)
		if err != nil {
			return n, 0, err
		}
		m, err := r.each(ctx, ls.Create, len(plan), func(ctx context.Context, i int) error {
			d := plan[i]
			if _, err := r.cs.AppsV1().Deployments(d.ns).Create(ctx, r.deployment(d.ns, d.name, "load", d.replicas, d.configMap, d.secret), metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("create Deployment %s/%s: %w", d.ns, d.name, err)
			}
			return nil
		}, nil)
		if err != nil {
			return n + m, 0, err
		}
		return n + m, total, r.waitRollout(ctx, "created deployments", plan, deps)
	})
	if err != nil {
		return err
	}

	// scale: every Deployment by a random factor, in random order.
	before := make([]int32, len(plan))
	moved := 0
	for i, d := range plan {
		before[i] = d.replicas
		f := ls.Scale.MinFactor + r.rng.Float64()*(ls.Scale.MaxFactor-ls.Scale.MinFactor)
		d.replicas = max(1, int32(math.Round(float64(d.replicas)*f)))
		moved += int(math.Abs(float64(d.replicas - before[i])))
	}
	order := r.rng.Perm(len(plan))
	err = r.phase(ctx, "scale", ls.ScaleTuning.String(), func(ctx context.Context) (int, int, error) {
		r.cfg.Progress.Phase("scale", desired())
		n, err := r.each(ctx, ls.ScaleTuning, len(plan), func(ctx context.Context, i int) error {
			d := plan[order[i]]
			patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, d.replicas)
			if _, err := r.cs.AppsV1().Deployments(d.ns).Patch(ctx, d.name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				return fmt.Errorf("scale Deployment %s/%s: %w", d.ns, d.name, err)
			}
			return nil
		}, nil)
		if err != nil {
			return n, 0, err
		}
		return n, moved, r.waitRollout(ctx, "scaled deployments", plan, deps)
	})
	if err != nil {
		return err
	}

	// update: a new template annotation rolls every Deployment.
	order = r.rng.Perm(len(plan))
	err = r.phase(ctx, "update", ls.Update.String(), func(ctx context.Context) (int, int, error) {
		r.cfg.Progress.Phase("update", desired())
		stamp := r.clock().UTC().Format(time.RFC3339Nano)
		n, err := r.each(ctx, ls.Update, len(plan), func(ctx context.Context, i int) error {
			d := plan[order[i]]
			patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"perftest.kplane.io/rollout":%q}}}}}`, stamp)
			if _, err := r.cs.AppsV1().Deployments(d.ns).Patch(ctx, d.name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				return fmt.Errorf("update Deployment %s/%s: %w", d.ns, d.name, err)
			}
			return nil
		}, nil)
		if err != nil {
			return n, 0, err
		}
		return n, desired(), r.waitRollout(ctx, "rolled deployments", plan, deps)
	})
	if err != nil {
		return err
	}

	// delete: Deployments (their pods go by garbage collection), then the
	// companions; done when the run has no pods left.
	order = r.rng.Perm(len(plan))
	return r.phase(ctx, "delete", ls.Delete.String(), func(ctx context.Context) (int, int, error) {
		existing, _, _ := r.pods.counts("")
		r.cfg.Progress.Phase("delete", existing)
		n, err := r.each(ctx, ls.Delete, len(plan), func(ctx context.Context, i int) error {
			d := plan[order[i]]
			if err := r.cs.AppsV1().Deployments(d.ns).Delete(ctx, d.name, metav1.DeleteOptions{}); err != nil {
				return fmt.Errorf("delete Deployment %s/%s: %w", d.ns, d.name, err)
			}
			return nil
		}, nil)
		if err != nil {
			return n, 0, err
		}
		m, err := r.each(ctx, ls.Delete, len(companions), func(ctx context.Context, i int) error {
			c := companions[i]
			var err error
			switch c.kind {
			case "ConfigMap":
				err = r.cs.CoreV1().ConfigMaps(c.d.ns).Delete(ctx, c.name, metav1.DeleteOptions{})
			case "Secret":
				err = r.cs.CoreV1().Secrets(c.d.ns).Delete(ctx, c.name, metav1.DeleteOptions{})
			case "Service":
				err = r.cs.CoreV1().Services(c.d.ns).Delete(ctx, c.name, metav1.DeleteOptions{})
			}
			if err != nil {
				return fmt.Errorf("delete %s %s/%s: %w", c.kind, c.d.ns, c.name, err)
			}
			return nil
		}, nil)
		if err != nil {
			return n + m, 0, err
		}
		err = r.waitFor(ctx, "pods deleted", func() (int, bool, string) {
			left, _, _ := r.pods.counts("")
			return existing - left, left == 0, fmt.Sprintf("%d pods left", left)
		})
		return n + m, existing, err
	})
}

// deploymentCache is an informer on the run's Deployments.
func (r *Runner) deploymentCache(ctx context.Context) (cache.Indexer, func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	f := informers.NewSharedInformerFactoryWithOptions(r.cs, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = LabelRun + "=" + r.runID
	}))
	inf := f.Apps().V1().Deployments().Informer()
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	stop := func() { cancel(); f.Shutdown() }
	if ctx.Err() != nil {
		stop()
		return nil, nil, ctx.Err()
	}
	return inf.GetIndexer(), stop, nil
}

// waitRollout waits until every planned Deployment has observed its
// latest spec and runs exactly its desired replicas, all updated and ready.
func (r *Runner) waitRollout(ctx context.Context, what string, plan []*loadDeployment, deps cache.Indexer) error {
	return r.waitFor(ctx, what, func() (int, bool, string) {
		ready, pending := 0, 0
		for _, d := range plan {
			obj, ok, _ := deps.GetByKey(d.ns + "/" + d.name)
			if !ok {
				pending++
				continue
			}
			dep := obj.(*appsv1.Deployment)
			st := dep.Status
			if dep.Spec.Replicas == nil || *dep.Spec.Replicas != d.replicas || st.ObservedGeneration < dep.Generation {
				pending++
				continue
			}
			ready += int(min(st.UpdatedReplicas, st.ReadyReplicas, d.replicas))
			if st.UpdatedReplicas != d.replicas || st.Replicas != d.replicas || st.ReadyReplicas != d.replicas {
				pending++
			}
		}
		return ready, pending == 0, fmt.Sprintf("%d deployments pending", pending)
	})
}
