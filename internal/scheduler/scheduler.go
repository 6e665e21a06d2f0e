package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"kplane/internal/leaderelection"
	"kplane/internal/scheduler/framework"
	"kplane/internal/scheduler/plugins"
)

// Scheduler places pending pods on nodes while it leads.
type Scheduler struct {
	cfg     Config
	log     *slog.Logger
	client  kubernetes.Interface
	metrics *metrics

	cache    *Cache
	queue    *Queue
	snapshot *framework.Snapshot
	profile  *framework.Profile
	alg      *Algorithm

	// binds bounds concurrent binding and status writes.
	binds    chan struct{}
	bindWG   sync.WaitGroup
	recorder record.EventRecorder

	// namespaces lists namespaces for namespaceSelector terms and pdbs the
	// PodDisruptionBudgets preemption respects; set by run before
	// scheduling starts.
	namespaces corelisters.NamespaceLister
	pdbs       policylisters.PodDisruptionBudgetLister
	// nominator holds the nodes preemption nominated pending pods to.
	nominator *nominator

	readyOnce sync.Once
	ready     chan struct{}
	running   atomic.Bool
}

// New checks cfg and prepares the scheduler's client.
func New(cfg Config) (*Scheduler, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("scheduler config: %w", err)
	}
	rc := rest.CopyConfig(cfg.RESTConfig)
	rc.QPS, rc.Burst = cfg.QPS, cfg.Burst
	rc.UserAgent = "kplane-scheduler"
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	s := &Scheduler{
		cfg: cfg, log: cfg.Logger, client: client, metrics: m,
		cache:     NewCache(cfg.AssumedPodTTL, nil),
		queue:     NewQueue(cfg.PodInitialBackoff, cfg.PodMaxBackoff, nil, EquivalenceClass),
		snapshot:  framework.NewSnapshot(),
		binds:     make(chan struct{}, cfg.BindWorkers),
		ready:     make(chan struct{}),
		nominator: newNominator(),
	}
	s.profile = plugins.DefaultProfile(plugins.ProfileOptions{
		SchedulerName: cfg.SchedulerName, Weights: cfg.Weights, Bind: &binder{client: client}, Nominated: s.nominator,
		Preemption: plugins.PreemptionOptions{
			Lookup: s.snapshot.Get, NumNodes: s.snapshot.NumNodes, PDBs: s.listPDBs, Evictor: evictor{s},
			Rand: rand.New(rand.NewSource(cfg.Seed)), Parallelism: cfg.Parallelism,
		},
		Interpod: plugins.InterpodOptions{Snapshot: s.snapshot, NamespaceLabels: s.namespaceLabels, Parallelism: cfg.Parallelism},
	})
	s.alg = NewAlgorithm(s.profile, cfg.Parallelism, cfg.PercentageOfNodesToScore, cfg.Seed)
	return s, nil
}

// Ready is closed once this instance leads, its informers have synced
// and it is scheduling.
func (s *Scheduler) Ready() <-chan struct{} { return s.ready }

// Run serves until ctx ends; with leader election it returns an error
// when leadership is lost (the process should exit, as upstream does).
func (s *Scheduler) Run(ctx context.Context) error {
	return leaderelection.Run(ctx, leaderelection.Config{
		Options: s.cfg.LeaderElection, Client: s.client.CoordinationV1(), Logger: s.log,
	}, s.run)
}

// run starts informers, waits for them and schedules until ctx ends.
func (s *Scheduler) run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("scheduler already running")
	}
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: s.client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	s.recorder = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: s.cfg.SchedulerName})

	factory := informers.NewSharedInformerFactoryWithOptions(s.client, 0, informers.WithTransform(dropManagedFields))
	podInf := factory.Core().V1().Pods().Informer()
	nodeInf := factory.Core().V1().Nodes().Informer()
	s.namespaces = factory.Core().V1().Namespaces().Lister()
	s.pdbs = factory.Policy().V1().PodDisruptionBudgets().Lister()
	if _, err := nodeInf.AddEventHandler(s.nodeHandler()); err != nil {
		return fmt.Errorf("node handler: %w", err)
	}
	if _, err := podInf.AddEventHandler(s.podHandler()); err != nil {
		return fmt.Errorf("pod handler: %w", err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("informer for %v did not sync", typ)
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.housekeeping(ctx) }()
	s.readyOnce.Do(func() { close(s.ready) })
	s.log.Info("scheduler running", "name", s.cfg.SchedulerName, "nodes", s.cache.NodeCount())
	for {
		qp := s.queue.Pop(ctx)
		if qp == nil {
			break
		}
		s.scheduleOne(ctx, qp)
	}
	wg.Wait()
	s.bindWG.Wait()
	return nil
}

// namespaceLabels resolves a namespace's labels for affinity terms.
func (s *Scheduler) namespaceLabels(name string) (map[string]string, bool) {
	if s.namespaces == nil {
		return nil, false
	}
	ns, err := s.namespaces.Get(name)
	if err != nil {
		return nil, false
	}
	return ns.Labels, true
}

// housekeeping flushes the backoff and unschedulable queues every second,
// expires assumed pods and publishes queue lengths.
func (s *Scheduler) housekeeping(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.queue.Flush()
		if n := s.cache.CleanupExpired(); n > 0 {
			s.log.Warn("assumed pods expired without confirmation", "count", n)
		}
		a, b, u := s.queue.Lens()
		s.metrics.pending.WithLabelValues(queueActive).Set(float64(a))
		s.metrics.pending.WithLabelValues(queueBackoff).Set(float64(b))
		s.metrics.pending.WithLabelValues(queueUnschedulable).Set(float64(u))
	}
}

// responsible reports whether this scheduler should schedule pod.
func (s *Scheduler) responsible(pod *corev1.Pod) bool {
	return pod.Spec.NodeName == "" && pod.Spec.SchedulerName == s.cfg.SchedulerName && pod.DeletionTimestamp == nil &&
		pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed && len(pod.Spec.SchedulingGates) == 0
}

// accounted reports whether an assigned pod occupies its node.
func accounted(pod *corev1.Pod) bool {
	return pod.Spec.NodeName != "" && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

func podOf(obj any) *corev1.Pod {
	switch o := obj.(type) {
	case *corev1.Pod:
		return o
	case cache.DeletedFinalStateUnknown:
		p, _ := o.Obj.(*corev1.Pod)
		return p
	}
	return nil
}

func (s *Scheduler) podHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			pod := podOf(obj)
			switch {
			case pod == nil:
			case accounted(pod):
				s.cache.AddPod(pod)
			case s.responsible(pod):
				s.queue.Add(pod)
				if pod.Status.NominatedNodeName != "" {
					s.nominator.add(pod, pod.Status.NominatedNodeName)
				}
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, pod := podOf(oldObj), podOf(newObj)
			if pod == nil || old == nil {
				return
			}
			switch {
			case accounted(pod):
				if old.Spec.NodeName == "" {
					s.queue.Delete(pod.UID)
					s.nominator.remove(pod.UID)
				}
				s.cache.UpdatePod(pod)
			case accounted(old):
				// Terminated: it no longer occupies its node.
				s.cache.RemovePod(old)
				s.queue.MoveAllToActiveOrBackoff()
			case s.responsible(pod):
				s.nominator.update(old, pod)
				s.queue.Update(pod)
			default:
				s.queue.Delete(pod.UID)
				s.nominator.remove(pod.UID)
			}
		},
		DeleteFunc: func(obj any) {
			pod := podOf(obj)
			if pod == nil {
				return
			}
			s.queue.Delete(pod.UID)
			s.nominator.remove(pod.UID)
			if pod.Spec.NodeName != "" || s.cache.Has(pod.UID) {
				s.cache.RemovePod(pod)
				s.queue.MoveAllToActiveOrBackoff()
			}
		},
	}
}

func (s *Scheduler) nodeHandler() cache.ResourceEventHandler {
	nodeOf := func(obj any) *corev1.Node {
		switch o := obj.(type) {
		case *corev1.Node:
			return o
		case cache.DeletedFinalStateUnknown:
			n, _ := o.Obj.(*corev1.Node)
			return n
		}
		return nil
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if n := nodeOf(obj); n != nil {
				s.cache.AddNode(n)
				s.queue.MoveAllToActiveOrBackoff()
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, n := nodeOf(oldObj), nodeOf(newObj)
			if n == nil {
				return
			}
			s.cache.UpdateNode(n)
			if old == nil || schedulingRelevantChange(old, n) {
				s.queue.MoveAllToActiveOrBackoff()
			}
		},
		DeleteFunc: func(obj any) {
			if n := nodeOf(obj); n != nil {
				s.cache.RemoveNode(n.Name)
			}
		},
	}
}

// schedulingRelevantChange ignores heartbeat-only node updates, which
// cannot make a pod schedulable.
func schedulingRelevantChange(old, n *corev1.Node) bool {
	if old.Spec.Unschedulable != n.Spec.Unschedulable || len(old.Spec.Taints) != len(n.Spec.Taints) ||
		len(old.Labels) != len(n.Labels) || len(old.Status.Allocatable) != len(n.Status.Allocatable) {
		return true
	}
	for i := range n.Spec.Taints {
		if !old.Spec.Taints[i].MatchTaint(&n.Spec.Taints[i]) || old.Spec.Taints[i].Value != n.Spec.Taints[i].Value {
			return true
		}
	}
	for k, v := range n.Labels {
		if old.Labels[k] != v {
			return true
		}
	}
	for k, q := range n.Status.Allocatable {
		if oq, ok := old.Status.Allocatable[k]; !ok || oq.Cmp(q) != 0 {
			return true
		}
	}
	return false
}

// dropManagedFields trims what the scheduler never reads from the objects
// its informers keep: managed fields are a large share of a pod's or
// node's memory at 150,000 pods, and the scheduler writes only patches and
// bindings, never whole cached objects.
func dropManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}
