package hollownode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// LeaseNamespace holds the nodes' heartbeat Leases, as upstream.
const LeaseNamespace = corev1.NamespaceNodeLease

// nodeNameIndex indexes the pod informer by spec.nodeName.
const nodeNameIndex = "spec.nodeName"

// Fleet is a set of hollow nodes sharing one client, one pod informer and
// two worker pools. Create it with New and run it with Run.
type Fleet struct {
	cfg   Config
	log   *slog.Logger
	clock clock.WithTicker
	m     *metrics
	// gatherer serves Handler's /metrics; nil when the caller's registry is
	// not a Gatherer.
	gatherer prometheus.Gatherer

	nodeClient  kubernetes.Interface // registration, NodeStatus
	leaseClient kubernetes.Interface // Leases, on a connection of their own
	podClient   kubernetes.Interface // pod status, final deletes
	clusterNet  netip.Prefix
	nodeNet     netip.Prefix

	nodes  []*node          // by position, immutable after New
	byName map[string]*node // immutable after New

	nodeQ  workqueue.TypedRateLimitingInterface[nodeKey] // register, status
	leaseQ workqueue.TypedRateLimitingInterface[nodeKey] // lease
	podQ   workqueue.TypedRateLimitingInterface[string]

	factory  informers.SharedInformerFactory
	informer cache.SharedIndexInformer
	// nodeFactory's informer watches the fleet's Nodes, trimmed to their
	// conditions, so a node notices when another writer (the node
	// lifecycle controller marking it Unknown) contradicts its status.
	nodeFactory  informers.SharedInformerFactory
	nodeInformer cache.SharedIndexInformer

	podsMu sync.Mutex
	pods   map[string]*podState // guarded by podsMu; by namespace/name
	// seen is when the informer first delivered a pending pod not yet
	// synced, so start latency counts the time it waited in the queue;
	// guarded by podsMu, emptied as pods are synced.
	seen map[string]int64

	started    time.Time // set by Run before any worker starts
	registered atomic.Int64
	ready      chan struct{}
	readyOnce  sync.Once
	running    atomic.Bool
}

// New validates cfg and builds a Fleet; it does not talk to the API server
// until Run.
func New(cfg Config) (*Fleet, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("hollow nodes: %w", err)
	}
	f := &Fleet{
		cfg: cfg, log: cfg.Logger.With("component", "hollow-nodes"), clock: cfg.Clock,
		byName: make(map[string]*node, cfg.Count), pods: map[string]*podState{}, seen: map[string]int64{},
		ready: make(chan struct{}),
	}
	f.clusterNet = netip.MustParsePrefix(cfg.ClusterCIDR).Masked()
	f.nodeNet = netip.MustParsePrefix(cfg.NodeIPCIDR).Masked()

	reg := cfg.Metrics
	if reg == nil {
		r := prometheus.NewRegistry()
		reg = r
	}
	if g, ok := reg.(prometheus.Gatherer); ok {
		f.gatherer = g
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	f.m = m

	var errs error
	f.nodeClient, err = newClient(cfg.RESTConfig, cfg.NodeQPS, cfg.NodeBurst, "kplane-hollow-node")
	errs = errors.Join(errs, err)
	leaseCfg := rest.CopyConfig(cfg.RESTConfig)
	// A Dial of its own keeps client-go from sharing the cached transport:
	// heartbeats get their own HTTP/2 connection, not one queued behind
	// the pod watch and status writes.
	leaseCfg.Dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	f.leaseClient, err = newClient(leaseCfg, cfg.NodeQPS, cfg.NodeBurst, "kplane-hollow-node")
	errs = errors.Join(errs, err)
	f.podClient, err = newClient(cfg.RESTConfig, cfg.QPS, cfg.Burst, "kplane-hollow-node")
	errs = errors.Join(errs, err)
	if errs != nil {
		return nil, errs
	}

	for i := range cfg.Count {
		idx := cfg.FirstIndex + i
		n := &node{
			pos:     i,
			name:    cfg.NamePrefix + strconv.Itoa(idx),
			zone:    cfg.Zones[idx%len(cfg.Zones)],
			ip:      nthAddr(f.nodeNet, idx+2),
			podCIDR: nthSubnet(f.clusterNet, cfg.NodeCIDRMaskSize, idx),
		}
		n.ips = newPodIPs(n.podCIDR)
		f.nodes = append(f.nodes, n)
		f.byName[n.name] = n
	}

	f.nodeQ = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[nodeKey](100*time.Millisecond, 5*time.Second),
		workqueue.TypedRateLimitingQueueConfig[nodeKey]{Clock: cfg.Clock})
	f.leaseQ = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[nodeKey](100*time.Millisecond, 5*time.Second),
		workqueue.TypedRateLimitingQueueConfig[nodeKey]{Clock: cfg.Clock})
	f.podQ = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, 30*time.Second),
		workqueue.TypedRateLimitingQueueConfig[string]{Clock: cfg.Clock})

	f.factory = informers.NewSharedInformerFactoryWithOptions(f.podClient, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "spec.nodeName!=" }),
		informers.WithTransform(trimPod))
	f.informer = f.factory.Core().V1().Pods().Informer()
	if err := f.informer.AddIndexers(cache.Indexers{nodeNameIndex: func(obj any) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}}); err != nil {
		return nil, fmt.Errorf("pod indexer: %w", err)
	}
	f.nodeFactory = informers.NewSharedInformerFactoryWithOptions(f.nodeClient, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = LabelHollow + "=true" }),
		informers.WithTransform(trimNode))
	f.nodeInformer = f.nodeFactory.Core().V1().Nodes().Informer()
	if _, err := f.nodeInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    f.onNode,
		UpdateFunc: func(_, obj any) { f.onNode(obj) },
	}); err != nil {
		return nil, fmt.Errorf("node event handler: %w", err)
	}
	if _, err := f.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    f.onPod,
		UpdateFunc: func(_, obj any) { f.onPod(obj) },
		DeleteFunc: f.onPodDelete,
	}); err != nil {
		return nil, fmt.Errorf("pod event handler: %w", err)
	}
	return f, nil
}

// newClient is a clientset over rc's transport with its own rate limiter.
// client-go caches transports by TLS config, so the clientsets of a fleet
// share one HTTP/2 connection.
func newClient(rc *rest.Config, qps float32, burst int, agent string) (kubernetes.Interface, error) {
	c := rest.CopyConfig(rc)
	c.QPS, c.Burst = qps, burst
	c.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(qps, burst)
	if qps == 0 {
		c.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter()
	}
	c.UserAgent = agent
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("hollow node client: %w", err)
	}
	return cs, nil
}

// Ready is closed once every node is registered, has posted Ready and
// holds a Lease.
func (f *Fleet) Ready() <-chan struct{} { return f.ready }

// Nodes are the names of the fleet's nodes.
func (f *Fleet) Nodes() []string {
	names := make([]string, len(f.nodes))
	for i, n := range f.nodes {
		names[i] = n.name
	}
	return names
}

// Registered is the number of nodes registered so far.
func (f *Fleet) Registered() int { return int(f.registered.Load()) }

// Run registers the nodes, heartbeats and drives their pods until ctx is
// done; then the nodes stop heartbeating (they are not deleted, as a
// stopped kubelet's are not). It returns nil on cancellation and an error
// if the fleet cannot start.
func (f *Fleet) Run(ctx context.Context) error {
	if !f.running.CompareAndSwap(false, true) {
		return errors.New("hollow nodes: Run called twice")
	}
	f.started = f.clock.Now()
	f.log.Info("starting hollow nodes", "count", len(f.nodes), "first", f.nodes[0].name)

	var wg sync.WaitGroup
	defer wg.Wait()
	defer f.podQ.ShutDown()
	defer f.nodeQ.ShutDown()
	defer f.leaseQ.ShutDown()

	f.factory.Start(ctx.Done())
	defer f.factory.Shutdown()
	f.nodeFactory.Start(ctx.Done())
	defer f.nodeFactory.Shutdown()
	// Adopt the pods of a previous run before any node acts.
	for _, fac := range []informers.SharedInformerFactory{f.factory, f.nodeFactory} {
		for typ, ok := range fac.WaitForCacheSync(ctx.Done()) {
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("hollow nodes: %v informer did not sync", typ)
			}
		}
	}

	for _, n := range f.nodes {
		f.nodeQ.Add(nodeKey{pos: int32(n.pos), task: taskRegister})
	}
	for range f.cfg.NodeWorkers {
		wg.Go(func() { f.nodeWorker(ctx, f.nodeQ) })
	}
	for range f.cfg.LeaseWorkers {
		wg.Go(func() { f.nodeWorker(ctx, f.leaseQ) })
	}
	for range f.cfg.PodWorkers {
		wg.Go(func() { f.podWorker(ctx) })
	}
	<-ctx.Done()
	f.log.Info("stopping hollow nodes", "registered", f.registered.Load())
	return nil
}

func (f *Fleet) nodeWorker(ctx context.Context, q workqueue.TypedRateLimitingInterface[nodeKey]) {
	for {
		k, shutdown := q.Get()
		if shutdown {
			return
		}
		if ctx.Err() == nil {
			if err := f.syncNode(ctx, k); err != nil {
				if ctx.Err() == nil {
					f.log.Debug("node task failed", "node", f.nodes[k.pos].name, "task", k.task.String(), "err", err)
				}
				q.AddRateLimited(k)
			} else {
				q.Forget(k)
			}
		}
		q.Done(k)
	}
}

func (f *Fleet) podWorker(ctx context.Context) {
	for {
		key, shutdown := f.podQ.Get()
		if shutdown {
			return
		}
		if ctx.Err() == nil {
			if err := f.syncPod(ctx, key); err != nil {
				if ctx.Err() == nil {
					f.log.Debug("pod sync failed", "pod", key, "err", err)
				}
				f.podQ.AddRateLimited(key)
			} else {
				f.podQ.Forget(key)
			}
		}
		f.podQ.Done(key)
	}
}

// markRegistered counts a node registered and closes Ready with the last.
func (f *Fleet) markRegistered(n *node) {
	f.m.registerLatency.Observe(f.clock.Since(f.started).Seconds())
	f.m.registered.Inc()
	if f.registered.Add(1) == int64(len(f.nodes)) {
		f.readyOnce.Do(func() {
			f.log.Info("hollow nodes ready", "count", len(f.nodes), "took", f.clock.Since(f.started).Round(time.Millisecond))
			close(f.ready)
		})
	}
}

// onNode queues a status write when a registered node's Ready condition
// in the API differs from what the node reports.
func (f *Fleet) onNode(obj any) {
	o, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	n := f.byName[o.Name]
	if n == nil || !n.registered.Load() || Fault(n.fault.Load()) == FaultStopHeartbeats {
		return
	}
	ready, _ := f.wantReady(n, f.clock.Now())
	if got := readyCondition(o); got != "" && got != conditionStatus(ready) {
		f.nodeQ.Add(nodeKey{pos: int32(n.pos), task: taskStatus})
	}
}

// onPod queues pods bound to the fleet's nodes.
func (f *Fleet) onPod(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok || f.byName[p.Spec.NodeName] == nil {
		return
	}
	key, err := cache.MetaNamespaceKeyFunc(p)
	if err != nil {
		return
	}
	if p.DeletionTimestamp == nil && (p.Status.Phase == corev1.PodPending || p.Status.Phase == "") {
		f.podsMu.Lock()
		if _, tracked := f.pods[key]; !tracked {
			if _, ok := f.seen[key]; !ok {
				f.seen[key] = f.clock.Now().UnixNano()
			}
		}
		f.podsMu.Unlock()
	}
	f.podQ.Add(key)
}

// onPodDelete queues pods the fleet tracks, so their state is dropped.
func (f *Fleet) onPodDelete(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	f.podsMu.Lock()
	_, tracked := f.pods[key]
	f.podsMu.Unlock()
	if tracked {
		f.podQ.Add(key)
	}
}

// apiErr is whether err is worth a log line: conflicts and missing objects
// are part of normal churn.
func apiErr(err error) bool {
	return err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err)
}
