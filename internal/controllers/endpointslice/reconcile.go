package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kplane/internal/controllers/endpoints"
)

// plan is what one sync writes.
type plan struct {
	create, update, remove []*discoveryv1.EndpointSlice
}

// slicePlan is an existing slice and the endpoints it will keep.
type slicePlan struct {
	slice     *discoveryv1.EndpointSlice
	endpoints []discoveryv1.Endpoint
	changed   bool
}

// planSlices decides the writes that make existing match desired, keeping
// endpoints in the slices they already are in (so unrelated slices are
// not rewritten), filling slices being updated before making new ones.
func planSlices(svc *corev1.Service, existing []*discoveryv1.EndpointSlice, desired map[string]*group, maxPerSlice int) plan {
	var p plan
	byGroup := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		k := groupKey(s.AddressType, s.Ports)
		byGroup[k] = append(byGroup[k], s)
	}
	wantLabels := sliceLabels(svc)
	total := 0
	for _, g := range desired {
		total += len(g.endpoints)
	}
	if total == 0 {
		return planPlaceholder(svc, existing, wantLabels)
	}
	for k, slicesOfGroup := range byGroup {
		if _, ok := desired[k]; !ok {
			p.remove = append(p.remove, slicesOfGroup...)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(desired)) {
		g := desired[k]
		remaining := maps.Clone(g.endpoints)
		var plans []*slicePlan
		for _, s := range byGroup[k] {
			sp := &slicePlan{slice: s}
			for i := range s.Endpoints {
				ek := endpointKey(&s.Endpoints[i])
				want, ok := remaining[ek]
				if !ok {
					sp.changed = true
					continue
				}
				delete(remaining, ek)
				if !apiequality.Semantic.DeepEqual(want, s.Endpoints[i]) {
					sp.changed = true
				}
				sp.endpoints = append(sp.endpoints, want)
			}
			if len(sp.endpoints) == 0 {
				p.remove = append(p.remove, s)
				continue
			}
			if !labelsMatch(s.Labels, wantLabels) {
				sp.changed = true
			}
			plans = append(plans, sp)
		}
		left := make([]discoveryv1.Endpoint, 0, len(remaining))
		for _, ek := range slices.Sorted(maps.Keys(remaining)) {
			left = append(left, remaining[ek])
		}
		// Slices already being rewritten take new endpoints first, then
		// the others with room.
		slices.SortStableFunc(plans, func(a, b *slicePlan) int {
			switch {
			case a.changed == b.changed:
				return 0
			case a.changed:
				return -1
			default:
				return 1
			}
		})
		for _, sp := range plans {
			if n := min(maxPerSlice-len(sp.endpoints), len(left)); n > 0 {
				sp.endpoints = append(sp.endpoints, left[:n]...)
				left = left[n:]
				sp.changed = true
			}
			if sp.changed {
				s := sp.slice.DeepCopy()
				s.Endpoints = sp.endpoints
				s.Labels = mergeLabels(s.Labels, wantLabels)
				s.OwnerReferences = ownerRefs(svc)
				p.update = append(p.update, s)
			}
		}
		for len(left) > 0 {
			n := min(maxPerSlice, len(left))
			s := newSlice(svc, g.addressType, g.ports, wantLabels)
			s.Endpoints = left[:n]
			left = left[n:]
			p.create = append(p.create, s)
		}
	}
	return p
}

// planPlaceholder keeps one empty slice for a service without endpoints,
// as upstream does, so clients can tell "no endpoints" from "not synced".
func planPlaceholder(svc *corev1.Service, existing []*discoveryv1.EndpointSlice, wantLabels map[string]string) plan {
	var p plan
	at := addressTypes(svc)[0]
	var keep *discoveryv1.EndpointSlice
	for _, s := range existing {
		if keep == nil && len(s.Endpoints) == 0 && len(s.Ports) == 0 && s.AddressType == at {
			keep = s
			continue
		}
		p.remove = append(p.remove, s)
	}
	switch {
	case keep == nil:
		p.create = append(p.create, newSlice(svc, at, []discoveryv1.EndpointPort{}, wantLabels))
	case !labelsMatch(keep.Labels, wantLabels):
		s := keep.DeepCopy()
		s.Labels = mergeLabels(s.Labels, wantLabels)
		p.update = append(p.update, s)
	}
	return p
}

// sliceLabels are the service's labels (minus the two reserved keys) plus
// the service-name, managed-by and, for headless services, headless labels.
func sliceLabels(svc *corev1.Service) map[string]string {
	out := map[string]string{}
	for k, v := range svc.Labels {
		if k == discoveryv1.LabelServiceName || k == discoveryv1.LabelManagedBy {
			continue
		}
		out[k] = v
	}
	if !endpoints.IsServiceIPSet(svc) {
		out[corev1.IsHeadlessService] = ""
	}
	out[discoveryv1.LabelServiceName] = svc.Name
	out[discoveryv1.LabelManagedBy] = ControllerName
	return out
}

func labelsMatch(have, want map[string]string) bool {
	return maps.Equal(have, want)
}

func mergeLabels(_, want map[string]string) map[string]string {
	return maps.Clone(want)
}

func ownerRefs(svc *corev1.Service) []metav1.OwnerReference {
	t := true
	return []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID, Controller: &t, BlockOwnerDeletion: &t}}
}

func newSlice(svc *corev1.Service, at discoveryv1.AddressType, ports []discoveryv1.EndpointPort, labels map[string]string) *discoveryv1.EndpointSlice {
	prefix := svc.Name + "-"
	if len(prefix) > 58 {
		prefix = svc.Name[:min(len(svc.Name), 58)]
	}
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: prefix, Namespace: svc.Namespace,
			Labels: maps.Clone(labels), OwnerReferences: ownerRefs(svc),
		},
		AddressType: at,
		Ports:       ports,
		Endpoints:   []discoveryv1.Endpoint{},
	}
}

// apply performs a plan, recording what it wrote in the tracker.
func (c *Controller) apply(ctx context.Context, key string, p plan, trigger time.Time) error {
	api := c.client.DiscoveryV1().EndpointSlices
	stamp := func(s *discoveryv1.EndpointSlice) {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		if !trigger.IsZero() {
			s.Annotations[corev1.EndpointsLastChangeTriggerTime] = trigger.UTC().Format(time.RFC3339Nano)
		} else {
			delete(s.Annotations, corev1.EndpointsLastChangeTriggerTime)
		}
	}
	var errs []error
	for _, s := range p.create {
		stamp(s)
		created, err := api(s.Namespace).Create(ctx, s, metav1.CreateOptions{})
		if err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
			errs = append(errs, fmt.Errorf("create endpoint slice for %s: %w", key, err))
			continue
		}
		c.tracker.expect(key, created.Name, created.ResourceVersion)
	}
	for _, s := range p.update {
		stamp(s)
		updated, err := api(s.Namespace).Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("update endpoint slice %s/%s: %w", s.Namespace, s.Name, err))
			continue
		}
		c.tracker.expect(key, updated.Name, updated.ResourceVersion)
	}
	for _, s := range p.remove {
		err := api(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete endpoint slice %s/%s: %w", s.Namespace, s.Name, err))
			continue
		}
		c.tracker.expect(key, s.Name, "")
	}
	return errors.Join(errs...)
}

// parseRV reads a resourceVersion (an etcd revision).
func parseRV(rv string) uint64 {
	n, _ := strconv.ParseUint(rv, 10, 64)
	return n
}
