package perftest

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// density is upstream's density test: saturate the nodes with
// podsPerNode pods each through ReplicationControllers (or Deployments),
// wait for all to run, then create latency pods one at a time and time
// each from creation to observed Running.
func (r *Runner) density(ctx context.Context, nodes int) error {
	ds := r.spec.Density
	total := nodes * r.spec.PodsPerNode
	nsCount := max(1, (nodes+r.spec.NodesPerNamespace-1)/r.spec.NodesPerNamespace)
	if err := r.createNamespaces(ctx, nsCount); err != nil {
		return err
	}
	// Split the pods over namespaces, then each namespace's share over
	// objects of podsPerObject (0: one object per namespace).
	type object struct {
		ns, name string
		replicas int32
	}
	var objects []object
	for i := range nsCount {
		pods := total / nsCount
		if i < total%nsCount {
			pods++
		}
		per := ds.PodsPerObject
		if per <= 0 {
			per = pods
		}
		for j := 0; pods > 0; j++ {
			n := min(per, pods)
			objects = append(objects, object{ns: r.namespace(i).Name, name: fmt.Sprintf("density-%d", j), replicas: int32(n)})
			pods -= n
		}
	}
	err := r.phase(ctx, "saturation", ds.Saturation.String(), func(ctx context.Context) (int, int, error) {
		heap := r.profileAt(ctx, "saturation")
		r.cfg.Progress.Phase("saturation", total)
		created, err := r.each(ctx, ds.Saturation, len(objects), func(ctx context.Context, i int) error {
			o := objects[i]
			var err error
			if ds.Kind == "Deployment" {
				_, err = r.cs.AppsV1().Deployments(o.ns).Create(ctx, r.deployment(o.ns, o.name, "saturation", o.replicas, "", ""), metav1.CreateOptions{})
			} else {
				_, err = r.cs.CoreV1().ReplicationControllers(o.ns).Create(ctx, r.replicationController(o.ns, o.name, "saturation", o.replicas), metav1.CreateOptions{})
			}
			if err != nil {
				return fmt.Errorf("create %s %s/%s: %w", ds.Kind, o.ns, o.name, err)
			}
			return nil
		}, nil)
		if err != nil {
			return created, r.pods.runningCount(), err
		}
		err = r.waitFor(ctx, "saturation pods", func() (int, bool, string) {
			existing, running, _ := r.pods.counts("")
			return running, running >= total, fmt.Sprintf("%d created, %d running", existing, running)
		})
		heap()
		return created, r.pods.runningCount(), err
	})
	if err != nil {
		return err
	}

	n := latencyPods(ds, nodes)
	ns := r.namespace(0).Name
	return r.phase(ctx, "latency", fmt.Sprintf("1 pod every %s", ds.LatencyInterval.Duration), func(ctx context.Context) (int, int, error) {
		r.cfg.Progress.Phase("latency", n)
		tick := time.NewTicker(max(ds.LatencyInterval.Duration, time.Millisecond))
		defer tick.Stop()
		for i := range n {
			pod := r.latencyPod(ns, i)
			r.pods.noteCreate(ns, pod.Name, r.clock())
			created, err := r.cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
			if err != nil {
				return i, 0, fmt.Errorf("create latency pod %d: %w", i, err)
			}
			r.pods.noteCreated(ns, pod.Name, created.UID, r.clock())
			_, _, running := r.pods.counts("latency")
			r.cfg.Progress.Set(running, "latency pods running")
			select {
			case <-ctx.Done():
				return i + 1, running, ctx.Err()
			case <-tick.C:
			}
		}
		var running int
		err := r.waitFor(ctx, "latency pods", func() (int, bool, string) {
			_, _, running = r.pods.counts("latency")
			return running, running >= n, fmt.Sprintf("%d of %d latency pods running", running, n)
		})
		return n, running, err
	})
}

// createNamespaces creates the run's namespaces, labelled for cleanup.
func (r *Runner) createNamespaces(ctx context.Context, n int) error {
	_, err := r.each(ctx, Tuning{}, n, func(ctx context.Context, i int) error {
		if _, err := r.cs.CoreV1().Namespaces().Create(ctx, r.namespace(i), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create namespace: %w", err)
		}
		return nil
	}, nil)
	return err
}

// latencyPods is the number of latency pods: the spec's, or one per node
// up to 500.
func latencyPods(ds DensitySpec, nodes int) int {
	if ds.LatencyPods > 0 {
		return ds.LatencyPods
	}
	return min(nodes, 500)
}
