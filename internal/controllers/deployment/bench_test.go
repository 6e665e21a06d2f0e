package deployment_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"kplane/internal/controllers/controllertest"
)

// BenchmarkRollingUpdate1000 rolls a 1,000-replica Deployment (maxSurge
// and maxUnavailable 25%: 250 each) to a new template per iteration while
// the fake kubelet readies pods as they appear, and fails if any state a
// watch observes breaks the bounds. It reports seconds per rollout.
//
//	go test ./internal/controllers/deployment -run '^$' -bench RollingUpdate1000 -benchtime 1x
func BenchmarkRollingUpdate1000(b *testing.B) {
	const n = 1000
	c := startCluster(b)
	ns := c.Namespace(b, "bench-rollout")
	c.kubelet(b, ns, 0)
	d := deploymentObj(ns, "big", n, "big:0")
	d.Spec.Strategy = rolling(intstr.FromString("25%"), intstr.FromString("25%"))
	ctx := context.Background()
	if _, err := c.admin.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		b.Fatalf("create: %v", err)
	}
	start := time.Now()
	c.waitComplete(b, ns, "big")
	b.Logf("initial rollout of %d replicas: %s", n, time.Since(start).Round(time.Millisecond))

	b.ResetTimer()
	var total time.Duration
	for i := range b.N {
		b.StopTimer()
		rw := c.watchRollout(b, ns, n, 250, 250)
		b.StartTimer()
		start := time.Now()
		image := fmt.Sprintf("big:%d", i+1)
		c.updateDeployment(b, ns, "big", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = image })
		c.waitComplete(b, ns, "big")
		controllertest.Eventually(b, "old replica sets drained", func(ctx context.Context) (bool, error) {
			cur, err := c.admin.AppsV1().Deployments(ns).Get(ctx, "big", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, rs := range c.replicaSets(b, cur) {
				if rs.Spec.Template.Spec.Containers[0].Image != image && rs.Status.Replicas != 0 {
					return false, nil
				}
			}
			return true, nil
		})
		took := time.Since(start)
		total += took
		b.StopTimer()
		rw.verify(b)
		b.Logf("rollout %d of %d replicas: %s", i+1, n, took.Round(time.Millisecond))
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/rollout")
}
