package perftest

import (
	"context"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"kplane/internal/perftest/report"
)

// Label keys the drivers put on every object they create, so the pod
// collector watches only the run's pods and cleanup finds everything.
const (
	LabelRun   = "perftest.kplane.io/run"
	LabelGroup = "perftest.kplane.io/group"
)

// podCollector timestamps every pod of the run from a pod informer: when
// the client first saw it, when it was scheduled (PodScheduled condition),
// when it ran (container start) and when the client saw it Running.
type podCollector struct {
	clock    func() time.Time
	start    time.Time
	interval time.Duration

	mu       sync.Mutex // guards everything below
	pods     map[types.UID]*podRecord
	created  map[string]time.Time // ns/name → client clock before create, for pods we create
	returned map[string]time.Time // ns/name → client clock after create returned, before the informer saw it
	buckets  []report.ThroughputPoint
	running  int // pods currently Running and not deleted
	gone     int // pods of the run deleted
}

type podRecord struct {
	t        report.PodTiming
	seen     time.Time
	returned time.Time // client clock when our create call returned
	deleted  bool
}

func newPodCollector(clock func() time.Time, start time.Time, interval time.Duration) *podCollector {
	return &podCollector{clock: clock, start: start, interval: interval, pods: map[types.UID]*podRecord{}, created: map[string]time.Time{}, returned: map[string]time.Time{}}
}

// run starts the informer on the run's pods and returns once it has
// synced; stop ends it and waits for its goroutines.
func (c *podCollector) run(ctx context.Context, cs kubernetes.Interface, runID string) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = LabelRun + "=" + runID
	}))
	stop = func() { cancel(); f.Shutdown() }
	inf := f.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.observe(obj, false) },
		UpdateFunc: func(_, obj any) { c.observe(obj, false) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			c.observe(obj, true)
		},
	}); err != nil {
		stop()
		return nil, err
	}
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	if err := ctx.Err(); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// noteCreate records the client clock just before the driver creates a
// pod itself: a precise creation time, unlike creationTimestamp.
func (c *podCollector) noteCreate(ns, name string, t time.Time) {
	c.mu.Lock()
	c.created[ns+"/"+name] = t
	c.mu.Unlock()
}

// noteCreated records the client clock when the create call of a pod the
// driver created returned, for the watch delay.
func (c *podCollector) noteCreated(ns, name string, uid types.UID, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.pods[uid]; r != nil {
		r.returned = t
		return
	}
	c.returned[ns+"/"+name] = t
}

// watchDelay summarises, over the pods the driver created, how long after
// the create call returned the informer delivered the pod's ADD event (0
// when the event came first): the watch event latency a client sees.
func (c *podCollector) watchDelay() report.Quantiles {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s []float64
	for _, r := range c.pods {
		if !r.returned.IsZero() {
			s = append(s, report.StageSeconds(r.returned, r.seen))
		}
	}
	return quantiles(s)
}

func (c *podCollector) observe(obj any, deleted bool) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	now := c.clock()
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.pods[pod.UID]
	if r == nil {
		r = &podRecord{seen: now, t: report.PodTiming{Namespace: pod.Namespace, Name: pod.Name, Group: pod.Labels[LabelGroup]}}
		if t, ok := c.created[pod.Namespace+"/"+pod.Name]; ok {
			r.t.Created = t
			delete(c.created, pod.Namespace+"/"+pod.Name)
		} else {
			r.t.Created = pod.CreationTimestamp.Time
		}
		if t, ok := c.returned[pod.Namespace+"/"+pod.Name]; ok {
			r.returned = t
			delete(c.returned, pod.Namespace+"/"+pod.Name)
		}
		c.pods[pod.UID] = r
		c.bucket(r.t.Created).Created++
	}
	if r.deleted {
		return
	}
	if deleted {
		r.deleted = true
		c.gone++
		if !r.t.Watched.IsZero() {
			c.running--
		}
		return
	}
	if r.t.Node == "" && pod.Spec.NodeName != "" {
		r.t.Node = pod.Spec.NodeName
		r.t.Scheduled = scheduledTime(pod, now)
		c.bucket(now).Scheduled++
	}
	if r.t.Watched.IsZero() && pod.Status.Phase == corev1.PodRunning && pod.DeletionTimestamp == nil {
		r.t.Watched = now
		r.t.Running = runningTime(pod, now)
		if r.t.Scheduled.IsZero() {
			r.t.Scheduled = r.t.Running
		}
		c.running++
		c.bucket(now).Running++
	}
}

// scheduledTime is the PodScheduled condition's transition, else now.
func scheduledTime(pod *corev1.Pod, now time.Time) time.Time {
	for _, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionTrue && !cond.LastTransitionTime.IsZero() {
			return cond.LastTransitionTime.Time
		}
	}
	return now
}

// runningTime is the latest container start, else the Ready condition's
// transition, else now.
func runningTime(pod *corev1.Pod, now time.Time) time.Time {
	var t time.Time
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.State.Running != nil && cs.State.Running.StartedAt.After(t) {
			t = cs.State.Running.StartedAt.Time
		}
	}
	if t.IsZero() {
		for _, cond := range pod.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				t = cond.LastTransitionTime.Time
			}
		}
	}
	if t.IsZero() {
		return now
	}
	return t
}

// bucket returns the throughput interval t falls in; c.mu is held.
func (c *podCollector) bucket(t time.Time) *report.ThroughputPoint {
	i := max(0, int(t.Sub(c.start)/c.interval))
	for len(c.buckets) <= i {
		c.buckets = append(c.buckets, report.ThroughputPoint{T: float64(len(c.buckets)) * c.interval.Seconds()})
	}
	return &c.buckets[i]
}

// counts returns how many of the run's pods exist (not deleted), how many
// of those are Running, and how many of a group are Running.
func (c *podCollector) counts(group string) (existing, running, groupRunning int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.pods {
		if r.deleted {
			continue
		}
		existing++
		if !r.t.Watched.IsZero() {
			running++
			if group == "" || r.t.Group == group {
				groupRunning++
			}
		}
	}
	return existing, running, groupRunning
}

// runningCount is cheap: pods Running and not deleted.
func (c *podCollector) runningCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.running
}

// timings returns every pod's timeline, sorted by creation.
func (c *podCollector) timings() []report.PodTiming {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]report.PodTiming, 0, len(c.pods))
	for _, r := range c.pods {
		out = append(out, r.t)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name
	})
	return out
}

// throughput returns the per-interval series.
func (c *podCollector) throughput() report.Throughput {
	c.mu.Lock()
	defer c.mu.Unlock()
	tp := report.Throughput{IntervalSeconds: c.interval.Seconds(), Series: append([]report.ThroughputPoint(nil), c.buckets...)}
	for _, b := range tp.Series {
		tp.MaxScheduledPerSecond = max(tp.MaxScheduledPerSecond, float64(b.Scheduled)/c.interval.Seconds())
	}
	if tp.Series == nil {
		tp.Series = []report.ThroughputPoint{}
	}
	return tp
}

// startupGroups computes per-stage quantiles for each group of pods.
func startupGroups(pods []report.PodTiming, groups []string) []report.PodStartupGroup {
	var out []report.PodStartupGroup
	for _, g := range groups {
		sg := report.PodStartupGroup{Group: g, Stages: map[string]report.Quantiles{}}
		stages := map[string][]float64{}
		for _, p := range pods {
			if p.Group != g {
				continue
			}
			sg.Pods++
			if p.Watched.IsZero() {
				continue
			}
			sg.Complete++
			stages[report.StageCreateToSchedule] = append(stages[report.StageCreateToSchedule], report.StageSeconds(p.Created, p.Scheduled))
			stages[report.StageScheduleToRun] = append(stages[report.StageScheduleToRun], report.StageSeconds(p.Scheduled, p.Running))
			stages[report.StageRunToWatch] = append(stages[report.StageRunToWatch], report.StageSeconds(p.Running, p.Watched))
			stages[report.StageEndToEnd] = append(stages[report.StageEndToEnd], report.StageSeconds(p.Created, p.Watched))
		}
		if sg.Pods == 0 {
			continue
		}
		for st, s := range stages {
			sg.Stages[st] = quantiles(s)
		}
		sg.CDF = cdf(stages[report.StageEndToEnd], 200)
		out = append(out, sg)
	}
	return out
}
