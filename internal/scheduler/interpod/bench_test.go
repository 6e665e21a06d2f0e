package interpod

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	benchNodes  = 5000
	benchOwners = 200
	// benchScored is upstream's adaptive percentageOfNodesToScore at 5,000
	// nodes: 50% - 5000/125 = 10%.
	benchScored = benchNodes / 10
)

// benchPods is the number of existing pods: 30,000, or KPLANE_BENCH_PODS.
func benchPods() int {
	if n, err := strconv.Atoi(os.Getenv("KPLANE_BENCH_PODS")); err == nil && n > 0 {
		return n
	}
	return 30000
}

// benchCluster builds 5,000 nodes in 3 zones with benchPods pods of 200 owners
// placed pseudo-randomly; decorate shapes every pod (existing and incoming).
// Nodes carry a generation, as the scheduler's snapshot does.
func benchCluster(decorate func(p *corev1.Pod, app string) *corev1.Pod) []Node {
	rng := rand.New(rand.NewSource(1))
	ns := make([]*testNode, benchNodes)
	for i := range ns {
		ns[i] = mkNode(fmt.Sprintf("node-%04d", i), fmt.Sprintf("zone-%d", i%3), "kubernetes.io/os", "linux")
	}
	for k, total := 0, benchPods(); k < total; k++ {
		app := fmt.Sprintf("app-%03d", k%benchOwners)
		p := decorate(mkPod("default", fmt.Sprintf("%s-%d", app, k), "app", app, "pod-template-hash", "abc"), app)
		n := ns[rng.Intn(benchNodes)]
		n.pods = append(n.pods, p)
	}
	out := make([]Node, len(ns))
	for i, n := range ns {
		out[i] = &genNode{testNode: n, gen: 1}
	}
	return out
}

func antiAffinityPod(p *corev1.Pod, app string) *corev1.Pod {
	return withAntiAffinity(p, term(hostKey, sel("app", app)))
}

func spreadPod(p *corev1.Pod, app string) *corev1.Pod {
	p = withSpread(p, zoneKey, 1, corev1.DoNotSchedule, sel("app", app))
	return withSpread(p, hostKey, 1, corev1.ScheduleAnyway, sel("app", app))
}

// BenchmarkAffinityCycle measures one scheduling cycle's inter-pod affinity
// work per pod: PreFilter, Filter over every node, Score and normalize over
// the sampled nodes.
func BenchmarkAffinityCycle(b *testing.B) {
	all := benchCluster(antiAffinityPod)
	pods := make([]*corev1.Pod, benchOwners)
	for i := range pods {
		app := fmt.Sprintf("app-%03d", i)
		pods[i] = antiAffinityPod(mkPod("default", app+"-new", "app", app, "pod-template-hash", "abc"), app)
	}
	scores := make([]int64, benchScored)
	opts := Options{Index: NewIndex()}
	if _, err := PreFilterAffinityWith(pods[0], all, opts); err != nil { // warm the index
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pod := pods[i%len(pods)]
		s, err := PreFilterAffinityWith(pod, all, opts)
		if err != nil {
			b.Fatal(err)
		}
		feasible := filterAll(all, func(n Node) bool { ok, _ := s.Filter(pod, n); return ok })
		if feasible == 0 {
			b.Fatal("no feasible node")
		}
		for j := range scores {
			scores[j] = s.Score(pod, all[j*10])
		}
		NormalizeAffinityScores(scores)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pods/s")
}

// BenchmarkSpreadCycle measures one scheduling cycle's topology spread work
// per pod: PreFilter, Filter over every node, PreScore, Score and normalize
// over the sampled nodes.
func BenchmarkSpreadCycle(b *testing.B) {
	all := benchCluster(spreadPod)
	pods := make([]*corev1.Pod, benchOwners)
	for i := range pods {
		app := fmt.Sprintf("app-%03d", i)
		pods[i] = spreadPod(mkPod("default", app+"-new", "app", app, "pod-template-hash", "abc"), app)
	}
	scores := make([]int64, benchScored)
	sampled := make([]Node, benchScored)
	for j := range sampled {
		sampled[j] = all[j*10]
	}
	opts := Options{Index: NewIndex()}
	if _, err := PreFilterSpreadWith(pods[0], all, opts); err != nil { // warm the index
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pod := pods[i%len(pods)]
		s, err := PreFilterSpreadWith(pod, all, opts)
		if err != nil {
			b.Fatal(err)
		}
		feasible := filterAll(all, func(n Node) bool { ok, _ := s.Filter(pod, n); return ok })
		if feasible == 0 {
			b.Fatal("no feasible node")
		}
		s.PreScore(sampled)
		for j, n := range sampled {
			scores[j] = s.Score(pod, n)
		}
		NormalizeSpreadScores(scores)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pods/s")
}

// filterAll runs filter over all nodes on GOMAXPROCS goroutines, as the
// scheduler's parallel filtering does, and returns how many fit.
func filterAll(all []Node, filter func(Node) bool) int {
	workers := workersFor(len(all), 0)
	fits := make([]int, workers)
	parallelize(len(all), workers, func(w, start, end int) {
		for _, n := range all[start:end] {
			if filter(n) {
				fits[w]++
			}
		}
	})
	total := 0
	for _, f := range fits {
		total += f
	}
	return total
}

// BenchmarkDefaultSpreadBindCycle measures the system default spreading
// (every pod owned by one of 200 ReplicaSets, no explicit constraints) as
// the scheduler runs it: each cycle is PreFilter, PreScore and Score over
// the sampled nodes, then the pod is bound to the best sampled node, which
// changes that node's generation, so the next cycle's Index sync and the
// per-group counts see one new pod, as at 1,000 binds/s.
func BenchmarkDefaultSpreadBindCycle(b *testing.B) {
	owned := func(p *corev1.Pod, app string) *corev1.Pod {
		ctrl := true
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: app, Controller: &ctrl}}
		return p
	}
	all := benchCluster(owned)
	scores := make([]int64, benchScored)
	sampled := make([]Node, benchScored)
	opts := Options{Index: NewIndex()}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		app := fmt.Sprintf("app-%03d", i%benchOwners)
		pod := owned(mkPod("default", fmt.Sprintf("%s-new-%d", app, i), "app", app, "pod-template-hash", "abc"), app)
		s, err := PreFilterSpreadWith(pod, all, opts)
		if err != nil {
			b.Fatal(err)
		}
		// A different tenth of the nodes each cycle, as the scheduler's
		// rotating start index samples them.
		off := i % 10
		for j := range sampled {
			sampled[j] = all[j*10+off]
		}
		s.PreScore(sampled)
		for j, n := range sampled {
			scores[j] = s.Score(pod, n)
		}
		NormalizeSpreadScores(scores)
		best := 0
		for j := range scores {
			if scores[j] > scores[best] {
				best = j
			}
		}
		// Bind: a new generation of the chosen node with the pod added.
		pos := best*10 + off
		old := all[pos].(*genNode)
		pods := append(old.pods[:len(old.pods):len(old.pods)], pod)
		all[pos] = &genNode{testNode: &testNode{node: old.node, pods: pods}, gen: old.gen + 1}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pods/s")
}
