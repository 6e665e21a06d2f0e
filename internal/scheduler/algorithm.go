package scheduler

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"

	"kplane/internal/scheduler/framework"
	"kplane/internal/scheduler/plugins"
)

// minFeasibleNodesToFind and minFeasibleNodesPercentageToFind bound the
// adaptive sample, as upstream.
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// Algorithm picks a node for one pod from a snapshot. It is used by one
// goroutine at a time (the scheduling loop); filtering and scoring fan
// out to Parallelism goroutines.
type Algorithm struct {
	profile     *framework.Profile
	parallelism int
	// percentage of nodes to score; 0 is adaptive.
	percentage int32
	rand       *rand.Rand
	// nextStart rotates where filtering starts so that sampling spreads
	// over all nodes.
	nextStart int
	eq        *equivalenceCache
	// Buffers reused across cycles (the algorithm runs one pod at a time).
	feasibleBuf []*framework.NodeInfo
	scoreBuf    []framework.NodeScore
	totalsBuf   []int64
}

// NewAlgorithm returns an algorithm over profile. seed makes tie-breaks
// reproducible.
func NewAlgorithm(profile *framework.Profile, parallelism int, percentage int32, seed int64) *Algorithm {
	if parallelism < 1 {
		parallelism = 1
	}
	return &Algorithm{profile: profile, parallelism: parallelism, percentage: percentage,
		rand: rand.New(rand.NewSource(seed)), eq: newEquivalenceCache(256)}
}

// ScheduleResult is where a pod goes and how much work finding it took.
type ScheduleResult struct {
	Node                string
	Evaluated, Feasible int
	// Nomination is set with a FitError when preemption nominated a node
	// for the pod (or cleared its nomination).
	Nomination *framework.PostFilterResult
}

// NumFeasibleNodesToFind is upstream's sample size: every node below 100
// nodes, else percentage (adaptive: 50% minus 1% per 125 nodes, at least
// 5%) of the nodes, but at least 100.
func NumFeasibleNodesToFind(percentage int32, numAll int) int {
	if numAll < minFeasibleNodesToFind || percentage >= 100 {
		return numAll
	}
	p := int(percentage)
	if p <= 0 {
		p = 50 - numAll/125
		if p < minFeasibleNodesPercentageToFind {
			p = minFeasibleNodesPercentageToFind
		}
	}
	n := numAll * p / 100
	if n < minFeasibleNodesToFind {
		return minFeasibleNodesToFind
	}
	return n
}

// Schedule runs PreFilter, Filter over a rotating sample, PreScore and
// Score, and picks the best node (ties broken at random). An unschedulable
// pod yields a *framework.FitError whose PostFilterMsg is filled in.
// class is the pod's equivalence class ("" for none): pods of one class
// share filter verdicts for nodes that have not changed since.
func (a *Algorithm) Schedule(ctx context.Context, state *framework.CycleState, snap *framework.Snapshot, pod *corev1.Pod, class string) (ScheduleResult, error) {
	nodes := snap.List
	if len(nodes) == 0 {
		return ScheduleResult{}, errNoNodes
	}
	if s := a.profile.RunPreFilter(ctx, state, pod, nodes); !s.IsSuccess() {
		if !s.IsRejected() {
			return ScheduleResult{}, fmt.Errorf("prefilter %s: %w", s.Plugin(), s.AsError())
		}
		fe := &framework.FitError{Pod: pod, NumAllNodes: len(nodes), PreFilterMsg: s.Message(), Statuses: map[string]*framework.Status{}}
		for _, n := range nodes {
			fe.Statuses[n.Name()] = s
		}
		return ScheduleResult{Nomination: a.postFilter(ctx, state, pod, fe)}, fe
	}
	// A pod that preempted goes to its nominated node if it fits now, as
	// upstream's evaluateNominatedNode.
	if nom := pod.Status.NominatedNodeName; nom != "" {
		if ni := snap.Get(nom); ni != nil && ni.Node() != nil && a.profile.RunFilterWithNominatedPods(ctx, state, pod, ni).IsSuccess() {
			return ScheduleResult{Node: nom, Evaluated: 1, Feasible: 1}, nil
		}
	}
	// Inter-pod rules depend on pods on other nodes, so verdicts are only
	// shared when none of them apply to this pod.
	if class != "" && (!state.SkipFilter[plugins.NameInterPodAffinity] || !state.SkipFilter[plugins.NamePodTopologySpread]) {
		class = ""
	}
	feasible, statuses, evaluated, err := a.findFeasible(ctx, state, pod, nodes, a.eq.get(class, snap.ListVersion, len(nodes)))
	if err != nil {
		return ScheduleResult{}, err
	}
	if len(feasible) == 0 {
		fe := &framework.FitError{Pod: pod, NumAllNodes: len(nodes), Statuses: statuses}
		return ScheduleResult{Nomination: a.postFilter(ctx, state, pod, fe)}, fe
	}
	res := ScheduleResult{Evaluated: evaluated, Feasible: len(feasible)}
	if len(feasible) == 1 {
		res.Node = feasible[0].Name()
		return res, nil
	}
	if s := a.profile.RunPreScore(ctx, state, pod, feasible); !s.IsSuccess() {
		return ScheduleResult{}, fmt.Errorf("prescore %s: %w", s.Plugin(), s.AsError())
	}
	totals, err := a.score(ctx, state, pod, feasible)
	if err != nil {
		return ScheduleResult{}, err
	}
	res.Node = a.selectHost(feasible, totals)
	return res, nil
}

// postFilter runs preemption and records its message in fe.
func (a *Algorithm) postFilter(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, fe *framework.FitError) *framework.PostFilterResult {
	r, s := a.profile.RunPostFilter(ctx, state, pod, fe.Statuses)
	fe.PostFilterMsg = s.Message()
	return r
}

// findFeasible checks nodes from nextStart on, in parallel chunks, until
// enough feasible nodes are found.
func (a *Algorithm) findFeasible(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo, eq *eqEntry) ([]*framework.NodeInfo, map[string]*framework.Status, int, error) {
	n := len(nodes)
	want := NumFeasibleNodesToFind(a.percentage, n)
	if cap(a.feasibleBuf) < want {
		a.feasibleBuf = make([]*framework.NodeInfo, want)
	}
	feasible := a.feasibleBuf[:want]
	type rejection struct {
		node   *framework.NodeInfo
		status *framework.Status
	}
	var (
		found, next atomic.Int64
		mu          sync.Mutex // guards rejected and firstErr
		rejected    []rejection
		firstErr    error
	)
	start := a.nextStart
	const chunk = 32
	check := func(i int, local *[]rejection) {
		ni := nodes[(start+i)%n]
		var s *framework.Status
		if a.profile.Nominated != nil && len(a.profile.NominatedFor(pod, ni.Name())) > 0 {
			// Nominated pods change the verdict without changing the
			// node's generation: bypass the equivalence cache.
			s = a.profile.RunFilterWithNominatedPods(ctx, state, pod, ni)
		} else if eq != nil && eq.gens[(start+i)%n] == ni.Generation() {
			s = eq.statuses[(start+i)%n]
		} else {
			s = a.profile.RunFilter(ctx, state, pod, ni)
			if eq != nil && s.Code() != framework.Error {
				eq.statuses[(start+i)%n], eq.gens[(start+i)%n] = s, ni.Generation()
			}
		}
		switch {
		case s.IsSuccess():
			if k := found.Add(1); k <= int64(want) {
				feasible[k-1] = ni
			}
		case s.IsRejected():
			*local = append(*local, rejection{ni, s})
		default:
			mu.Lock()
			if firstErr == nil {
				firstErr = fmt.Errorf("filter %s on node %s: %w", s.Plugin(), ni.Name(), s.AsError())
			}
			mu.Unlock()
		}
	}
	worker := func() {
		var local []rejection
		defer func() {
			mu.Lock()
			rejected = append(rejected, local...)
			mu.Unlock()
		}()
		for found.Load() < int64(want) {
			lo := int(next.Add(chunk)) - chunk
			if lo >= n {
				return
			}
			for i := lo; i < min(lo+chunk, n) && found.Load() < int64(want); i++ {
				check(i, &local)
			}
		}
	}
	workers := min(a.parallelism, (n+chunk-1)/chunk)
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() { defer wg.Done(); worker() }()
	}
	worker()
	wg.Wait()
	if firstErr != nil {
		return nil, nil, 0, firstErr
	}
	evaluated := min(int(next.Load()), n)
	a.nextStart = (start + evaluated) % n
	k := min(int(found.Load()), want)
	var statuses map[string]*framework.Status
	if k == 0 {
		// Only a failed pod needs per-node reasons.
		statuses = make(map[string]*framework.Status, len(rejected))
		for _, r := range rejected {
			statuses[r.node.Name()] = r.status
		}
	}
	return feasible[:k], statuses, evaluated, nil
}

// score runs every Score plugin over the feasible nodes in parallel,
// normalizes and returns the weighted totals.
func (a *Algorithm) score(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) ([]int64, error) {
	pls := a.profile.ScorePlugins(state)
	if need := len(pls) * len(nodes); cap(a.scoreBuf) < need {
		a.scoreBuf = make([]framework.NodeScore, need)
	}
	scores := make([][]framework.NodeScore, len(pls))
	for i := range scores {
		scores[i] = a.scoreBuf[i*len(nodes) : (i+1)*len(nodes)]
	}
	var (
		mu       sync.Mutex
		firstErr error
	)
	a.parallelize(len(nodes), func(lo, hi int) {
		for j := lo; j < hi; j++ {
			for i, pl := range pls {
				v, s := pl.Plugin.Score(ctx, state, pod, nodes[j])
				if !s.IsSuccess() {
					mu.Lock()
					firstErr = fmt.Errorf("score %s on node %s: %w", pl.Plugin.Name(), nodes[j].Name(), s.AsError())
					mu.Unlock()
					return
				}
				scores[i][j] = framework.NodeScore{Name: nodes[j].Name(), Score: v}
			}
		}
	})
	if firstErr != nil {
		return nil, firstErr
	}
	if cap(a.totalsBuf) < len(nodes) {
		a.totalsBuf = make([]int64, len(nodes))
	}
	totals := a.totalsBuf[:len(nodes)]
	clear(totals)
	for i, pl := range pls {
		if ext := pl.Plugin.ScoreExtensions(); ext != nil {
			if s := ext.NormalizeScore(ctx, state, pod, scores[i]); !s.IsSuccess() {
				return nil, fmt.Errorf("normalize %s: %w", pl.Plugin.Name(), s.AsError())
			}
		}
		for j := range totals {
			totals[j] += scores[i][j].Score * pl.Weight
		}
	}
	return totals, nil
}

// parallelize runs fn over [0,n) in chunks on up to Parallelism
// goroutines (the caller's included).
func (a *Algorithm) parallelize(n int, fn func(lo, hi int)) {
	const minChunk = 64
	workers := min(a.parallelism, (n+minChunk-1)/minChunk)
	if workers <= 1 {
		fn(0, n)
		return
	}
	size := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		lo, hi := w*size, min((w+1)*size, n)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); fn(lo, hi) }()
	}
	fn(0, min(size, n))
	wg.Wait()
}

// selectHost returns the node with the highest total; among equals each
// is equally likely (reservoir sampling), as upstream.
func (a *Algorithm) selectHost(nodes []*framework.NodeInfo, totals []int64) string {
	best, ties := 0, 1
	for j := 1; j < len(nodes); j++ {
		switch {
		case totals[j] > totals[best]:
			best, ties = j, 1
		case totals[j] == totals[best]:
			ties++
			if a.rand.Intn(ties) == 0 {
				best = j
			}
		}
	}
	return nodes[best].Name()
}
