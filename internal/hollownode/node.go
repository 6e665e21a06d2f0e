package hollownode

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Labels the fleet sets on its nodes besides the well-known ones.
const (
	// LabelHollow marks hollow nodes ("true").
	LabelHollow = "kplane.io/hollow"
)

// node is one hollow node. Name, zone and addresses are immutable after
// New; the registration, Lease and status fields are touched only by the
// node's tasks, which the work queue never runs concurrently for one key,
// and registration happens before the other tasks are queued.
type node struct {
	pos     int
	name    string
	zone    string
	ip      netip.Addr
	podCIDR netip.Prefix // replaced by the cluster's if its IPAM set one

	fault      atomic.Int32 // Fault
	registered atomic.Bool  // set once registration succeeded
	faultSince atomic.Int64 // unix nanoseconds the fault was set

	uid       types.UID
	createdAt metav1.Time
	existed   bool // registered by an earlier run: its Lease likely exists too
	lease     *leaseState
	// readyPosted is the Ready status last written; readySince its
	// transition time.
	readyPosted bool
	readySince  metav1.Time
	statusDue   time.Time

	mu  sync.Mutex // guards ips
	ips podIPs
}

type task uint8

const (
	taskRegister task = iota
	taskLease
	taskStatus
)

func (t task) String() string {
	switch t {
	case taskRegister:
		return "register"
	case taskLease:
		return "lease"
	default:
		return "status"
	}
}

// nodeKey is a unit of node work: one task of one node.
type nodeKey struct {
	pos  int32
	task task
}

func (f *Fleet) syncNode(ctx context.Context, k nodeKey) error {
	n := f.nodes[k.pos]
	switch {
	case k.task == taskRegister:
		return f.register(ctx, n)
	case !n.registered.Load():
		return nil // registration schedules the node's other tasks
	case k.task == taskLease:
		return f.renewLease(ctx, n)
	default:
		return f.syncStatus(ctx, n)
	}
}

// jitter is a reproducible offset in [0, d) for node n and a purpose.
func (f *Fleet) jitter(n *node, salt string, d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(salt))
	_, _ = h.Write([]byte(n.name))
	return time.Duration((h.Sum64() ^ f.cfg.Seed) % uint64(d))
}

// register creates the node (or adopts an existing one of the same name),
// posts its status if the created object lacks it, and creates its Lease.
func (f *Fleet) register(ctx context.Context, n *node) error {
	nodes := f.nodeClient.CoreV1().Nodes()
	obj, err := nodes.Create(ctx, f.nodeObject(n), metav1.CreateOptions{})
	postStatus := false
	switch {
	case apierrors.IsAlreadyExists(err):
		n.existed = true
		obj, err = nodes.Get(ctx, n.name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get node %s: %w", n.name, err)
		}
		if obj.Spec.PodCIDR == "" {
			patch := fmt.Sprintf(`{"spec":{"podCIDR":%q,"podCIDRs":[%q]}}`, n.podCIDR, n.podCIDR)
			if obj, err = nodes.Patch(ctx, n.name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				return fmt.Errorf("set podCIDR of node %s: %w", n.name, err)
			}
		}
		postStatus = true
	case err != nil:
		return fmt.Errorf("create node %s: %w", n.name, err)
	default:
		postStatus = !hasCondition(obj.Status.Conditions, corev1.NodeReady, corev1.ConditionTrue)
	}
	n.uid, n.createdAt = obj.UID, obj.CreationTimestamp
	if obj.Spec.PodCIDR != "" && obj.Spec.PodCIDR != n.podCIDR.String() {
		// The cluster's IPAM (or an earlier fleet) chose the podCIDR.
		if p, perr := netip.ParsePrefix(obj.Spec.PodCIDR); perr == nil && p.Addr().Is4() {
			n.mu.Lock()
			n.podCIDR, n.ips = p.Masked(), newPodIPs(p.Masked())
			n.mu.Unlock()
		}
	}
	now := f.clock.Now()
	if postStatus {
		if err := f.writeStatus(ctx, n, now); err != nil {
			return err
		}
	} else {
		n.readyPosted, n.readySince = true, metav1.NewTime(now)
		n.statusDue = now.Add(f.cfg.StatusReportInterval)
	}
	if err := f.renewLeaseNow(ctx, n, now); err != nil {
		return err
	}
	n.registered.Store(true)
	f.markRegistered(n)
	// Renewals of the whole fleet spread evenly over the interval, in a
	// reproducible order, not in registration bursts.
	first := f.jitter(n, "lease", f.cfg.LeaseRenewInterval)
	n.lease.next = now.Add(first)
	f.leaseQ.AddAfter(nodeKey{pos: int32(n.pos), task: taskLease}, first)
	f.nodeQ.AddAfter(nodeKey{pos: int32(n.pos), task: taskStatus}, n.statusDue.Sub(now)+f.jitter(n, "status", f.cfg.LeaseRenewInterval))
	return nil
}

// syncStatus writes NodeStatus when readiness changed or the report
// interval passed, and schedules the next check.
func (f *Fleet) syncStatus(ctx context.Context, n *node) error {
	key := nodeKey{pos: int32(n.pos), task: taskStatus}
	fault := Fault(n.fault.Load())
	if fault == FaultStopHeartbeats {
		return nil // SetFault queues this task again when the fault clears
	}
	now := f.clock.Now()
	ready, flip := f.wantReady(n, now)
	if ready != n.readyPosted || !now.Before(n.statusDue) || f.contradicted(n, ready) {
		if err := f.writeStatus(ctx, n, now); err != nil {
			return err
		}
	}
	next := n.statusDue.Sub(now)
	if flip > 0 && flip < next {
		next = flip
	}
	f.nodeQ.AddAfter(key, next)
	return nil
}

// wantReady is the Ready status the node should report now and, for a
// flapping node, the time until it flips.
func (f *Fleet) wantReady(n *node, now time.Time) (bool, time.Duration) {
	switch Fault(n.fault.Load()) {
	case FaultNotReady:
		return false, 0
	case FaultFlap:
		p := f.cfg.Pods.FlapPeriod
		elapsed := now.Sub(time.Unix(0, n.faultSince.Load()))
		phase := elapsed % (2 * p)
		if phase < p {
			return false, p - phase
		}
		return true, 2*p - phase
	default:
		return true, 0
	}
}

// writeStatus posts the full NodeStatus (a merge patch of the status
// subresource, as the kubelet patches it).
func (f *Fleet) writeStatus(ctx context.Context, n *node, now time.Time) error {
	ready, _ := f.wantReady(n, now)
	if ready != n.readyPosted || n.readySince.IsZero() {
		n.readySince = metav1.NewTime(now)
	}
	body, err := json.Marshal(map[string]any{"status": f.nodeStatus(n, ready, metav1.NewTime(now))})
	if err != nil {
		return fmt.Errorf("encode status of node %s: %w", n.name, err)
	}
	t0 := f.clock.Now()
	_, err = f.nodeClient.CoreV1().Nodes().Patch(ctx, n.name, types.MergePatchType, body, metav1.PatchOptions{}, "status")
	f.m.apiLatency.WithLabelValues("node_status").Observe(f.clock.Since(t0).Seconds())
	if err != nil {
		f.m.nodeStatus.WithLabelValues("error").Inc()
		return fmt.Errorf("write status of node %s: %w", n.name, err)
	}
	f.m.nodeStatus.WithLabelValues("success").Inc()
	n.readyPosted = ready
	n.statusDue = now.Add(f.cfg.StatusReportInterval)
	return nil
}

// nodeObject is the Node a hollow kubelet registers.
func (f *Fleet) nodeObject(n *node) *corev1.Node {
	labels := map[string]string{
		corev1.LabelHostname:           n.name,
		corev1.LabelOSStable:           "linux",
		corev1.LabelArchStable:         "amd64",
		corev1.LabelInstanceTypeStable: f.cfg.Node.InstanceType,
		corev1.LabelTopologyZone:       n.zone,
		corev1.LabelTopologyRegion:     f.cfg.Region,
		LabelHollow:                    "true",
	}
	for k, v := range f.cfg.Node.Labels {
		labels[k] = v
	}
	now := metav1.NewTime(f.clock.Now())
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        n.name,
			Labels:      labels,
			Annotations: map[string]string{"node.alpha.kubernetes.io/ttl": "0"},
		},
		Spec: corev1.NodeSpec{
			PodCIDR:    n.podCIDR.String(),
			PodCIDRs:   []string{n.podCIDR.String()},
			ProviderID: "kplane://hollow/" + n.name,
			Taints:     append([]corev1.Taint(nil), f.cfg.Node.Taints...),
		},
		Status: f.nodeStatus(n, true, now),
	}
}

// nodeStatus is the full status of n reporting ready at now.
func (f *Fleet) nodeStatus(n *node, ready bool, now metav1.Time) corev1.NodeStatus {
	p := f.cfg.Node
	res := corev1.ResourceList{
		corev1.ResourceCPU: p.CPU, corev1.ResourceMemory: p.Memory,
		corev1.ResourcePods: p.Pods, corev1.ResourceEphemeralStorage: p.EphemeralStorage,
		"hugepages-2Mi": resource.MustParse("0"), "hugepages-1Gi": resource.MustParse("0"),
	}
	since := n.readySince
	if since.IsZero() {
		since = now
	}
	readyCond := corev1.NodeCondition{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: now, LastTransitionTime: since,
		Reason: "KubeletReady", Message: "kubelet is posting ready status",
	}
	if !ready {
		readyCond.Status, readyCond.Reason, readyCond.Message = corev1.ConditionFalse, "KubeletNotReady", "hollow node fault: not ready"
	}
	pressure := func(t corev1.NodeConditionType, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: corev1.ConditionFalse, LastHeartbeatTime: now, LastTransitionTime: n.createdAtOr(now), Reason: reason, Message: msg}
	}
	return corev1.NodeStatus{
		Capacity:    res,
		Allocatable: res,
		Phase:       "",
		Conditions: []corev1.NodeCondition{
			pressure(corev1.NodeMemoryPressure, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
			pressure(corev1.NodeDiskPressure, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
			pressure(corev1.NodePIDPressure, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
			readyCond,
		},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: n.ip.String()},
			{Type: corev1.NodeHostName, Address: n.name},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID: fmt.Sprintf("hollow-%d", n.pos), SystemUUID: string(n.uid), BootID: "hollow",
			KernelVersion: "6.1.0-hollow", OSImage: "kplane hollow node", ContainerRuntimeVersion: "hollow://1.0.0",
			KubeletVersion:  p.KubeletVersion,
			OperatingSystem: "linux", Architecture: "amd64",
		},
	}
}

func (n *node) createdAtOr(now metav1.Time) metav1.Time {
	if n.createdAt.IsZero() {
		return now
	}
	return n.createdAt
}

// contradicted is whether the API shows n's Ready condition other than
// ready, e.g. Unknown after the node lifecycle controller missed its
// heartbeats; the kubelet then posts its status again.
func (f *Fleet) contradicted(n *node, ready bool) bool {
	obj, ok, err := f.nodeInformer.GetIndexer().GetByKey(n.name)
	if err != nil || !ok {
		return false
	}
	o, _ := obj.(*corev1.Node)
	got := readyCondition(o)
	return got != "" && got != conditionStatus(ready)
}

func readyCondition(n *corev1.Node) corev1.ConditionStatus {
	if n == nil {
		return ""
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return ""
}

func conditionStatus(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}

// trimNode keeps only what contradicted reads: name and conditions.
func trimNode(obj any) (any, error) {
	o, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	var conds []corev1.NodeCondition
	for _, c := range o.Status.Conditions {
		if c.Type == corev1.NodeReady {
			conds = append(conds, corev1.NodeCondition{Type: c.Type, Status: c.Status})
		}
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, ResourceVersion: o.ResourceVersion, UID: o.UID},
		Status:     corev1.NodeStatus{Conditions: conds},
	}, nil
}

func hasCondition(conds []corev1.NodeCondition, t corev1.NodeConditionType, s corev1.ConditionStatus) bool {
	for _, c := range conds {
		if c.Type == t {
			return c.Status == s
		}
	}
	return false
}
