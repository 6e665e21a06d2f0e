package perftest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// labels of every object of the run; group says what the object is for.
func (r *Runner) labels(group string, extra map[string]string) map[string]string {
	l := map[string]string{LabelRun: r.runID, LabelGroup: group}
	for k, v := range extra {
		l[k] = v
	}
	return l
}

func (r *Runner) namespace(i int) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", r.runID, i), Labels: r.labels("namespace", nil)}}
}

// podSpec is the spec's pod: one container, tiny requests, optional
// ConfigMap/Secret env references (optional, so a kubelet that resolves
// them never fails a pod for a missing one).
func (r *Runner) podSpec(configMap, secret string) corev1.PodSpec {
	grace := r.spec.Pod.TerminationGracePeriodSeconds
	c := corev1.Container{
		Name:  "app",
		Image: r.spec.Pod.Image,
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse(r.spec.Pod.CPU),
			corev1.ResourceMemory: resource.MustParse(r.spec.Pod.Memory),
		}},
	}
	opt := true
	if configMap != "" {
		c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: configMap}, Optional: &opt}})
	}
	if secret != "" {
		c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Optional: &opt}})
	}
	return corev1.PodSpec{Containers: []corev1.Container{c}, TerminationGracePeriodSeconds: &grace}
}

func (r *Runner) replicationController(ns, name, group string, replicas int32) *corev1.ReplicationController {
	sel := map[string]string{"name": name}
	return &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: r.labels(group, nil)},
		Spec: corev1.ReplicationControllerSpec{
			Replicas: &replicas, Selector: sel,
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: r.labels(group, sel)}, Spec: r.podSpec("", "")},
		},
	}
}

func (r *Runner) deployment(ns, name, group string, replicas int32, configMap, secret string) *appsv1.Deployment {
	sel := map[string]string{"name": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: r.labels(group, nil)},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: r.labels(group, sel)}, Spec: r.podSpec(configMap, secret)},
		},
	}
}

func (r *Runner) service(ns, name, selectName string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: r.labels("load", nil)},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"name": selectName},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}},
	}
}

func (r *Runner) configMap(ns, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: r.labels("load", nil)},
		Data: map[string]string{"config.yaml": "replicas: auto\nlog: info\n"}}
}

func (r *Runner) secret(ns, name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: r.labels("load", nil)},
		Data: map[string][]byte{"token": []byte(r.runID + "/" + ns + "/" + name)}}
}

func (r *Runner) latencyPod(ns string, i int) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("latency-%d", i), Namespace: ns, Labels: r.labels("latency", nil)},
		Spec: r.podSpec("", "")}
}

// each runs n calls paced by tuning with its parallelism, stopping at the
// first error; it returns how many calls succeeded. progress, if set, is
// called with the number done after each call.
func (r *Runner) each(ctx context.Context, t Tuning, n int, call func(ctx context.Context, i int) error, progress func(done int)) (int, error) {
	p := newPacer(t, r.clock)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next, done atomic.Int64
		once       sync.Once
		firstErr   error
		wg         sync.WaitGroup
	)
	for range min(n, t.parallelism()) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := p.wait(ctx); err != nil {
					once.Do(func() { firstErr = err })
					cancel()
					return
				}
				if err := call(ctx, i); err != nil {
					once.Do(func() { firstErr = err })
					cancel()
					return
				}
				d := done.Add(1)
				if progress != nil {
					progress(int(d))
				}
			}
		})
	}
	wg.Wait()
	return int(done.Load()), firstErr
}

// waitFor polls cond every 500ms until it is true, reporting progress.
func (r *Runner) waitFor(ctx context.Context, what string, cond func() (done int, ok bool, detail string)) error {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		done, ok, detail := cond()
		r.cfg.Progress.Set(done, detail)
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s (%s): %w", what, detail, ctx.Err())
		case <-t.C:
		}
	}
}

// cleanup deletes the run's namespaces (and so everything in them) and,
// unless ctx ends first, waits up to timeout for the namespace controller
// to finish, so that the next run starts on a quiet cluster instead of
// measuring this run's teardown.
func (r *Runner) cleanup(ctx context.Context, timeout time.Duration) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	sel := metav1.ListOptions{LabelSelector: LabelRun + "=" + r.runID}
	list, err := r.cs.CoreV1().Namespaces().List(dctx, sel)
	if err != nil {
		r.log.Warn("cleanup: list namespaces", "err", err)
		return
	}
	for _, ns := range list.Items {
		if err := r.cs.CoreV1().Namespaces().Delete(dctx, ns.Name, metav1.DeleteOptions{}); err != nil {
			r.log.Warn("cleanup: delete namespace", "namespace", ns.Name, "err", err)
		}
	}
	r.cfg.Progress.Phase("cleanup", len(list.Items))
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		left, err := r.cs.CoreV1().Namespaces().List(dctx, sel)
		if err == nil {
			r.cfg.Progress.Set(len(list.Items)-len(left.Items), "namespaces deleted")
			if len(left.Items) == 0 {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-dctx.Done():
			r.log.Warn("cleanup: namespaces still terminating", "after", timeout)
			return
		case <-t.C:
		}
	}
}
