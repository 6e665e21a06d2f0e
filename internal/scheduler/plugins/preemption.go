package plugins

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"kplane/internal/scheduler/framework"
)

// Upstream's defaults for how many nodes a preemption dry run must yield
// as candidates before it stops looking (10% of the nodes, at least 100).
const (
	minCandidateNodesPercentage = 10
	minCandidateNodesAbsolute   = 100
)

// Preemption messages, as upstream.
const (
	msgNotEligibleNever       = "not eligible due to preemptionPolicy=Never."
	msgNotEligibleTerminating = "not eligible due to a terminating pod on the nominated node."
)

// Evictor removes the victims of a preemption from the API. It is the
// scheduler's seam: the plugin decides, the scheduler owns the client.
type Evictor interface {
	Preempt(ctx context.Context, preemptor *corev1.Pod, node string, victims []*corev1.Pod) error
}

// PreemptionOptions wires DefaultPreemption to the scheduler.
type PreemptionOptions struct {
	// Lookup returns the NodeInfo of a node in the cycle's snapshot.
	Lookup func(name string) *framework.NodeInfo
	// NumNodes is the number of nodes in the cycle's snapshot.
	NumNodes func() int
	// PDBs lists the cluster's PodDisruptionBudgets (nil: none).
	PDBs func() []*policyv1.PodDisruptionBudget
	// Evictor deletes victims (nil: dry run only, for tests).
	Evictor Evictor
	// Rand picks the node to start the dry run at; nil uses a fixed seed.
	Rand *rand.Rand
	// Parallelism of the dry run; 0 is 1.
	Parallelism int
}

// DefaultPreemption is upstream's PostFilter of the same name: when a pod
// fits nowhere it looks for nodes where evicting lower-priority pods would
// make it fit, picks the node where that hurts least, evicts the victims
// through the Evictor and nominates the node for the pod. Its Profile is
// set once the profile it belongs to exists (it re-runs that profile's
// filters).
type DefaultPreemption struct {
	opts    PreemptionOptions
	Profile *framework.Profile

	mu  sync.Mutex // guards rnd
	rnd *rand.Rand
}

var _ framework.PostFilterPlugin = (*DefaultPreemption)(nil)

// NewDefaultPreemption returns the plugin; set Profile before use.
func NewDefaultPreemption(o PreemptionOptions) *DefaultPreemption {
	r := o.Rand
	if r == nil {
		r = rand.New(rand.NewSource(1))
	}
	return &DefaultPreemption{opts: o, rnd: r}
}

// Name implements framework.Plugin.
func (*DefaultPreemption) Name() string { return NameDefaultPreemption }

// candidate is a node where preemption works and who would be evicted.
type candidate struct {
	node string
	// victims sorted by importance, most important first.
	victims       []*corev1.Pod
	pdbViolations int
}

// PostFilter implements framework.PostFilterPlugin.
func (p *DefaultPreemption) PostFilter(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, statuses map[string]*framework.Status) (*framework.PostFilterResult, *framework.Status) {
	if ok, msg := p.eligible(pod, statuses); !ok {
		return nil, framework.NewStatus(framework.Unschedulable, "preemption: "+msg)
	}
	numAll := len(statuses)
	if p.opts.NumNodes != nil {
		numAll = p.opts.NumNodes()
	}
	var potential []string
	for name, s := range statuses {
		if s.Code() == framework.Unschedulable {
			potential = append(potential, name)
		}
	}
	sort.Strings(potential) // map order must not pick the node
	var pdbs []*policyv1.PodDisruptionBudget
	if p.opts.PDBs != nil {
		pdbs = p.opts.PDBs()
	}
	cands, nodeStatuses := p.dryRun(ctx, state, pod, potential, pdbs)
	if len(cands) == 0 {
		out := make(map[string]*framework.Status, numAll)
		for name := range statuses {
			out[name] = framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonPreemptionUseless)
		}
		for name, s := range nodeStatuses {
			out[name] = s
		}
		fe := &framework.FitError{Pod: pod, NumAllNodes: numAll, Statuses: out}
		// Clear a nomination that no longer holds.
		return &framework.PostFilterResult{}, framework.NewStatus(framework.Unschedulable, "preemption: "+fe.Error())
	}
	best := pickCandidate(cands)
	if p.opts.Evictor != nil {
		if err := p.opts.Evictor.Preempt(ctx, pod, best.node, best.victims); err != nil {
			return nil, framework.AsStatus(fmt.Errorf("preempt on node %s: %w", best.node, err))
		}
	}
	return &framework.PostFilterResult{NominatedNodeName: best.node}, nil
}

// eligible is upstream's PodEligibleToPreemptOthers: preemptionPolicy
// Never opts out, and a pod whose nominated node still has a lower-priority
// pod terminating because of preemption waits for it instead of evicting
// more.
func (p *DefaultPreemption) eligible(pod *corev1.Pod, statuses map[string]*framework.Status) (bool, string) {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == corev1.PreemptNever {
		return false, msgNotEligibleNever
	}
	nom := pod.Status.NominatedNodeName
	if nom == "" || p.opts.Lookup == nil {
		return true, ""
	}
	if s, ok := statuses[nom]; ok && s.Code() == framework.UnschedulableAndUnresolvable {
		return true, ""
	}
	ni := p.opts.Lookup(nom)
	if ni == nil {
		return true, ""
	}
	prio := framework.PodPriority(pod)
	for _, v := range ni.Pods() {
		if framework.PodPriority(v) < prio && terminatingByPreemption(v) {
			return false, msgNotEligibleTerminating
		}
	}
	return true, ""
}

// terminatingByPreemption reports a pod being deleted that carries the
// DisruptionTarget condition preemption sets.
func terminatingByPreemption(p *corev1.Pod) bool {
	if p.DeletionTimestamp == nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue && c.Reason == corev1.PodReasonPreemptionByScheduler {
			return true
		}
	}
	return false
}

// numCandidates is how many candidates the dry run collects before it
// stops: 10% of the potential nodes, at least 100, at most all.
func numCandidates(n int) int {
	c := n * minCandidateNodesPercentage / 100
	c = max(c, minCandidateNodesAbsolute)
	return min(c, n)
}

// dryRun selects victims on the potential nodes in parallel, starting at
// a random node, until enough candidates are found. It returns the
// candidates (those without PDB violations first) and why the other nodes
// were no candidates.
func (p *DefaultPreemption) dryRun(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, potential []string, pdbs []*policyv1.PodDisruptionBudget) ([]*candidate, map[string]*framework.Status) {
	statuses := map[string]*framework.Status{}
	if len(potential) == 0 || p.opts.Lookup == nil {
		return nil, statuses
	}
	want := numCandidates(len(potential))
	p.mu.Lock()
	offset := p.rnd.Intn(len(potential))
	p.mu.Unlock()
	var (
		mu                 sync.Mutex // guards statuses, the candidates and next
		nonViolating, viol []*candidate
		next               int
		workers            = max(1, min(p.opts.Parallelism, len(potential)))
		wg                 sync.WaitGroup
	)
	// As upstream, stop once enough candidates are found and at least one
	// violates no PDB.
	enough := func() bool { return len(nonViolating) > 0 && len(nonViolating)+len(viol) >= want }
	checkNode := func(i int) {
		name := potential[(offset+i)%len(potential)]
		ni := p.opts.Lookup(name)
		if ni == nil || ni.Node() == nil {
			return
		}
		victims, violations, s := p.selectVictims(ctx, state.Clone(), pod, ni.Clone(), pdbs)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case s.IsSuccess() && len(victims) > 0:
			c := &candidate{node: name, victims: victims, pdbViolations: violations}
			if violations == 0 {
				nonViolating = append(nonViolating, c)
			} else {
				viol = append(viol, c)
			}
		case s.IsSuccess():
			statuses[name] = framework.AsStatus(fmt.Errorf("expected at least one victim pod on node %q", name))
		default:
			statuses[name] = s
		}
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				mu.Lock()
				if next >= len(potential) || enough() {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				checkNode(i)
			}
		}()
	}
	wg.Wait()
	return append(nonViolating, viol...), statuses
}

// selectVictims is upstream's SelectVictimsOnNode on a cloned node and
// state: remove every lower-priority pod; if the pod then fits, add the
// pods back one by one, most important first (PDB-violating ones before
// the others), keeping each that still lets it fit. The rest are the
// victims, most important first, with how many of them violate a PDB.
func (p *DefaultPreemption) selectVictims(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo, pdbs []*policyv1.PodDisruptionBudget) ([]*corev1.Pod, int, *framework.Status) {
	prof := p.Profile
	remove := func(pi *framework.PodInfo) *framework.Status {
		ni.RemovePod(pi.Pod.UID)
		return prof.RunPreFilterRemovePod(ctx, state, pod, pi, ni)
	}
	add := func(pi *framework.PodInfo) *framework.Status {
		ni.AddPodInfo(pi)
		return prof.RunPreFilterAddPod(ctx, state, pod, pi, ni)
	}
	prio := framework.PodPriority(pod)
	var potential []*framework.PodInfo
	for _, pi := range append([]*framework.PodInfo(nil), ni.PodInfos...) {
		if framework.PodPriority(pi.Pod) < prio {
			potential = append(potential, pi)
			if s := remove(pi); !s.IsSuccess() {
				return nil, 0, s
			}
		}
	}
	if len(potential) == 0 {
		return nil, 0, framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonNoVictims)
	}
	if s := prof.RunFilterWithNominatedPods(ctx, state, pod, ni); !s.IsSuccess() {
		return nil, 0, s
	}
	sort.SliceStable(potential, func(i, j int) bool { return framework.MoreImportantPod(potential[i].Pod, potential[j].Pod) })
	violating, nonViolating := splitByPDBViolation(potential, pdbs)
	var victims []*corev1.Pod
	reprieve := func(pi *framework.PodInfo) (bool, *framework.Status) {
		if s := add(pi); !s.IsSuccess() {
			return false, s
		}
		if prof.RunFilterWithNominatedPods(ctx, state, pod, ni).IsSuccess() {
			return true, nil
		}
		if s := remove(pi); !s.IsSuccess() {
			return false, s
		}
		victims = append(victims, pi.Pod)
		return false, nil
	}
	numViolating := 0
	for _, pi := range violating {
		fits, s := reprieve(pi)
		if !s.IsSuccess() {
			return nil, 0, s
		}
		if !fits {
			numViolating++
		}
	}
	for _, pi := range nonViolating {
		if _, s := reprieve(pi); !s.IsSuccess() {
			return nil, 0, s
		}
	}
	if len(violating) > 0 && len(nonViolating) > 0 {
		sort.SliceStable(victims, func(i, j int) bool { return framework.MoreImportantPod(victims[i], victims[j]) })
	}
	return victims, numViolating, nil
}

// splitByPDBViolation charges each pod (in order) against the disruptions
// its PDBs still allow; a pod that takes a budget below zero violates it.
// Pods a PDB already counts as disrupted are not charged again, and a PDB
// with an empty selector matches nothing, as upstream.
func splitByPDBViolation(pods []*framework.PodInfo, pdbs []*policyv1.PodDisruptionBudget) (violating, nonViolating []*framework.PodInfo) {
	allowed := make([]int32, len(pdbs))
	selectors := make([]labels.Selector, len(pdbs))
	for i, pdb := range pdbs {
		allowed[i] = pdb.Status.DisruptionsAllowed
		if s, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err == nil {
			selectors[i] = s
		}
	}
	for _, pi := range pods {
		pod, violated := pi.Pod, false
		if len(pod.Labels) > 0 {
			for i, pdb := range pdbs {
				sel := selectors[i]
				if pdb.Namespace != pod.Namespace || sel == nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
					continue
				}
				if _, disrupted := pdb.Status.DisruptedPods[pod.Name]; disrupted {
					continue
				}
				allowed[i]--
				if allowed[i] < 0 {
					violated = true
				}
			}
		}
		if violated {
			violating = append(violating, pi)
		} else {
			nonViolating = append(nonViolating, pi)
		}
	}
	return violating, nonViolating
}

// pickCandidate is upstream's pickOneNodeForPreemption: fewest PDB
// violations, then the lowest most-important victim, the smallest sum of
// victim priorities, the fewest victims, and the latest start among the
// most important victims; the first remaining candidate wins.
func pickCandidate(cands []*candidate) *candidate {
	if len(cands) == 1 {
		return cands[0]
	}
	keep := func(cs []*candidate, score func(*candidate) int64) []*candidate {
		best := int64(math.MinInt64)
		var out []*candidate
		for _, c := range cs {
			switch s := score(c); {
			case s > best:
				best, out = s, []*candidate{c}
			case s == best:
				out = append(out, c)
			}
		}
		return out
	}
	cs := keep(cands, func(c *candidate) int64 { return -int64(c.pdbViolations) })
	cs = keep(cs, func(c *candidate) int64 { return -int64(framework.PodPriority(c.victims[0])) })
	cs = keep(cs, func(c *candidate) int64 {
		var sum int64
		for _, v := range c.victims {
			// Shift so that negative priorities still add up to more.
			sum += int64(framework.PodPriority(v)) + math.MaxInt32 + 1
		}
		return -sum
	})
	cs = keep(cs, func(c *candidate) int64 { return -int64(len(c.victims)) })
	cs = keep(cs, func(c *candidate) int64 { return earliestStartOfTop(c.victims).UnixNano() })
	return cs[0]
}

// earliestStartOfTop is the earliest start among the victims of the
// highest priority (upstream's GetEarliestPodStartTime).
func earliestStartOfTop(victims []*corev1.Pod) time.Time {
	top := framework.PodPriority(victims[0])
	t := framework.PodStartTime(victims[0])
	for _, v := range victims[1:] {
		if framework.PodPriority(v) == top {
			if s := framework.PodStartTime(v); s.Before(t) {
				t = s
			}
		}
	}
	return t
}
