package hollownode

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Fault is a failure injected into a node on demand, for node lifecycle
// and eviction tests.
type Fault int32

const (
	// FaultNone is a healthy node.
	FaultNone Fault = iota
	// FaultStopHeartbeats stops the node's Lease renewals and status
	// writes and freezes its pods, as a crashed or partitioned kubelet;
	// the node lifecycle controller marks it Unknown after its grace
	// period.
	FaultStopHeartbeats
	// FaultNotReady keeps the Lease fresh but reports Ready=False, as a
	// kubelet whose runtime is down.
	FaultNotReady
	// FaultFlap alternates NotReady and Ready every PodProfile.FlapPeriod,
	// starting NotReady.
	FaultFlap
)

var faultNames = []string{"none", "stop-heartbeats", "not-ready", "flap"}

func (f Fault) String() string {
	if int(f) < len(faultNames) {
		return faultNames[f]
	}
	return fmt.Sprintf("Fault(%d)", int32(f))
}

// ParseFault parses a Fault's String form.
func ParseFault(s string) (Fault, error) {
	for i, n := range faultNames {
		if strings.EqualFold(s, n) {
			return Fault(i), nil
		}
	}
	return FaultNone, fmt.Errorf("unknown fault %q (want one of %s)", s, strings.Join(faultNames, ", "))
}

// ErrUnknownNode is returned for a node name not in the fleet.
var ErrUnknownNode = fmt.Errorf("not a node of this fleet")

// SetFault injects fault into the named node (FaultNone heals it). It
// takes effect at once: a NotReady status is written, or heartbeats stop;
// healing renews the Lease and posts Ready immediately and resumes the
// node's pods.
func (f *Fleet) SetFault(name string, fault Fault) error {
	n := f.byName[name]
	if n == nil {
		return fmt.Errorf("node %q: %w", name, ErrUnknownNode)
	}
	if fault < FaultNone || int(fault) >= len(faultNames) {
		return fmt.Errorf("node %q: unknown fault %d", name, fault)
	}
	old := Fault(n.fault.Swap(int32(fault)))
	if old == fault {
		return nil
	}
	n.faultSince.Store(f.clock.Now().UnixNano())
	switch {
	case old == FaultNone:
		f.m.faultedNodes.Inc()
	case fault == FaultNone:
		f.m.faultedNodes.Dec()
	}
	f.log.Info("node fault", "node", name, "fault", fault.String(), "was", old.String())
	if !f.running.Load() || f.registered.Load() == 0 {
		return nil
	}
	f.nodeQ.Add(nodeKey{pos: int32(n.pos), task: taskStatus})
	if old == FaultStopHeartbeats {
		f.leaseQ.Add(nodeKey{pos: int32(n.pos), task: taskLease})
		f.resumePods(n)
	}
	return nil
}

// Fault is the fault injected into the named node.
func (f *Fleet) Fault(name string) (Fault, error) {
	n := f.byName[name]
	if n == nil {
		return FaultNone, fmt.Errorf("node %q: %w", name, ErrUnknownNode)
	}
	return Fault(n.fault.Load()), nil
}

// resumePods queues the pods of n after its heartbeats resume.
func (f *Fleet) resumePods(n *node) {
	objs, err := f.informer.GetIndexer().ByIndex(nodeNameIndex, n.name)
	if err != nil {
		return
	}
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			f.podQ.Add(p.Namespace + "/" + p.Name)
		}
	}
}
