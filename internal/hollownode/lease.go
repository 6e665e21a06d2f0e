package hollownode

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// leaseState is what a node keeps of its Lease between renewals: enough
// to write it back with optimistic concurrency, not the whole object.
type leaseState struct {
	resourceVersion string
	lastRenew       time.Time // last successful renewal
	next            time.Time // when the next renewal is due
}

// renewLease renews n's Lease and schedules the next renewal one interval
// after the previous due time, so the fleet's renewals stay spread.
func (f *Fleet) renewLease(ctx context.Context, n *node) error {
	if Fault(n.fault.Load()) == FaultStopHeartbeats {
		return nil // SetFault queues this task again when the fault clears
	}
	now := f.clock.Now()
	if err := f.renewLeaseNow(ctx, n, now); err != nil {
		return err
	}
	next := n.lease.next.Add(f.cfg.LeaseRenewInterval)
	if next.Before(now) {
		// Behind (an outage or an overloaded API server): catch up at
		// once rather than renewing in a burst later.
		next = now.Add(f.cfg.LeaseRenewInterval)
	}
	n.lease.next = next
	f.leaseQ.AddAfter(nodeKey{pos: int32(n.pos), task: taskLease}, next.Sub(now))
	return nil
}

// renewLeaseNow writes n's Lease with renewTime now, creating it if
// needed and re-reading it once on a conflict.
func (f *Fleet) renewLeaseNow(ctx context.Context, n *node, now time.Time) error {
	leases := f.leaseClient.CoordinationV1().Leases(LeaseNamespace)
	l := f.leaseObject(n, now)
	var (
		out *coordinationv1.Lease
		err error
	)
	t0 := f.clock.Now()
	defer func() { f.m.apiLatency.WithLabelValues("lease").Observe(f.clock.Since(t0).Seconds()) }()
	switch {
	case n.lease == nil && n.existed:
		err = f.updateLease(ctx, n, l)
	case n.lease == nil:
		out, err = leases.Create(ctx, l, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			err = f.updateLease(ctx, n, l)
			out = nil
		}
	default:
		l.ResourceVersion = n.lease.resourceVersion
		out, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			err = f.updateLease(ctx, n, l)
			out = nil
		}
	}
	if err != nil {
		f.m.leaseRenewals.WithLabelValues("error").Inc()
		return fmt.Errorf("renew lease of node %s: %w", n.name, err)
	}
	if n.lease == nil {
		n.lease = &leaseState{next: now}
	}
	if out != nil {
		n.lease.resourceVersion = out.ResourceVersion
	}
	if !n.lease.lastRenew.IsZero() {
		f.m.leaseInterval.Observe(now.Sub(n.lease.lastRenew).Seconds())
	}
	n.lease.lastRenew = now
	f.m.leaseRenewals.WithLabelValues("success").Inc()
	return nil
}

// updateLease re-reads n's Lease (or creates it if it is gone) and writes
// l over it; it records the new resourceVersion.
func (f *Fleet) updateLease(ctx context.Context, n *node, l *coordinationv1.Lease) error {
	leases := f.leaseClient.CoordinationV1().Leases(LeaseNamespace)
	cur, err := leases.Get(ctx, n.name, metav1.GetOptions{})
	var out *coordinationv1.Lease
	switch {
	case apierrors.IsNotFound(err):
		l.ResourceVersion = ""
		out, err = leases.Create(ctx, l, metav1.CreateOptions{})
	case err == nil:
		l.ResourceVersion = cur.ResourceVersion
		out, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	}
	if err != nil {
		return err
	}
	if n.lease == nil {
		n.lease = &leaseState{next: l.Spec.RenewTime.Time}
	}
	n.lease.resourceVersion = out.ResourceVersion
	return nil
}

// leaseObject is n's Lease renewed at now, owned by its Node so that
// deleting the Node collects it, as the kubelet's.
func (f *Fleet) leaseObject(n *node, now time.Time) *coordinationv1.Lease {
	l := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: n.name, Namespace: LeaseNamespace},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To(n.name),
			LeaseDurationSeconds: ptr.To(int32(f.cfg.LeaseDuration / time.Second)),
			RenewTime:            &metav1.MicroTime{Time: now},
		},
	}
	if n.uid != "" {
		l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.name, UID: n.uid}}
	}
	return l
}
