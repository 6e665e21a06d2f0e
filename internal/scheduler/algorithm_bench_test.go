package scheduler

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"kplane/internal/scheduler/framework"
	"kplane/internal/scheduler/plugins"
)

// benchNode is a 32-core, 128GiB, 110-pod node in one of 3 zones.
func benchNode(i int) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%05d", i), Labels: map[string]string{
		"kubernetes.io/hostname": fmt.Sprintf("node-%05d", i), "topology.kubernetes.io/zone": fmt.Sprintf("zone-%d", i%3),
	}}}
	n.Status.Allocatable = corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("128Gi"),
		corev1.ResourcePods: resource.MustParse("110"),
	}
	if i%10 == 0 {
		n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "infra", Effect: corev1.TaintEffectNoSchedule}}
	}
	return n
}

// benchPod is pod i of ReplicaSet rs: requests vary per set, every fifth
// set selects a zone; the app label makes system default spreading apply.
func benchPod(rs, i int) *corev1.Pod {
	ctrl := true
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: fmt.Sprintf("rs-%d-%d", rs, i), Namespace: "default", Labels: map[string]string{"app": fmt.Sprintf("rs-%d", rs)}, UID: types.UID(fmt.Sprintf("rs-%d-%d", rs, i)),
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: fmt.Sprintf("rs-%d", rs), UID: types.UID(fmt.Sprintf("rs-uid-%d", rs)), Controller: &ctrl}},
	}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(int64(50+rs%8*25), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(int64(64+rs%4*64)<<20, resource.BinarySI),
	}}}}}}
	if rs%5 == 0 {
		p.Spec.NodeSelector = map[string]string{"topology.kubernetes.io/zone": fmt.Sprintf("zone-%d", rs%3)}
	}
	return p
}

// BenchmarkScheduleAlgorithm schedules pods of 200 ReplicaSets onto 5,000
// nodes, assuming each placement in the cache and updating the snapshot
// incrementally, as the scheduling loop does (no API server). Reports
// pods/s. "basic" runs the node-local filters and scores (system default
// spreading off); "default-spread" adds upstream's default topology
// spreading of ReplicaSet pods over zones and hostnames.
func BenchmarkScheduleAlgorithm(b *testing.B) {
	b.Run("basic", func(b *testing.B) { benchmarkScheduleAlgorithm(b, true) })
	b.Run("default-spread", func(b *testing.B) { benchmarkScheduleAlgorithm(b, false) })
}

func benchmarkScheduleAlgorithm(b *testing.B, noDefaultSpread bool) {
	const nodes, sets = 5000, 200
	cache := NewCache(0, nil)
	for i := 0; i < nodes; i++ {
		cache.AddNode(benchNode(i))
	}
	snap := framework.NewSnapshot()
	cache.UpdateSnapshot(snap)
	prof := plugins.DefaultProfile(plugins.ProfileOptions{SchedulerName: "default-scheduler", Preemption: plugins.PreemptionOptions{Lookup: snap.Get, NumNodes: snap.NumNodes},
		Interpod: plugins.InterpodOptions{Snapshot: snap, Parallelism: 16, DisableDefaultSpread: noDefaultSpread}})
	alg := NewAlgorithm(prof, 16, 0, 1)
	pods := make([]*corev1.Pod, b.N)
	classes := make([]string, b.N)
	for i := range pods {
		pods[i] = benchPod(i%sets, i/sets)
		classes[i] = EquivalenceClass(pods[i])
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cache.UpdateSnapshot(snap)
		res, err := alg.Schedule(ctx, framework.NewCycleState(), snap, pods[i], classes[i])
		if err != nil {
			b.Fatalf("schedule %s: %v", pods[i].Name, err)
		}
		assumed := pods[i].DeepCopy()
		assumed.Spec.NodeName = res.Node
		if err := cache.AssumePod(assumed); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pods/s")
}
