package endpointslice

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func desiredOf(n int) map[string]*group {
	g := &group{addressType: discoveryv1.AddressTypeIPv4, ports: []discoveryv1.EndpointPort{}, endpoints: map[string]discoveryv1.Endpoint{}}
	for i := range n {
		ready := true
		g.endpoints[fmt.Sprintf("ns/p%03d", i)] = discoveryv1.Endpoint{
			Addresses:  []string{fmt.Sprintf("10.0.%d.%d", i/250, i%250)},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: fmt.Sprintf("p%03d", i)},
		}
	}
	return map[string]*group{groupKey(g.addressType, g.ports): g}
}

func TestPlanSlices(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u1"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10", IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol}}}
	apply := func(existing []*discoveryv1.EndpointSlice, p plan) []*discoveryv1.EndpointSlice {
		byName := map[string]*discoveryv1.EndpointSlice{}
		for _, s := range existing {
			byName[s.Name] = s
		}
		for _, s := range p.remove {
			delete(byName, s.Name)
		}
		for _, s := range p.update {
			byName[s.Name] = s
		}
		for i, s := range p.create {
			s.Name = fmt.Sprintf("new-%d-%d", len(byName), i)
			byName[s.Name] = s
		}
		var out []*discoveryv1.EndpointSlice
		for _, s := range byName {
			out = append(out, s)
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		before     int // endpoints already placed
		after      int
		wantSlices int
		wantWrites int // creates+updates+removes of the second sync
	}{
		{"250 endpoints need three slices", 0, 250, 3, 3},
		{"no endpoints keep one placeholder", 0, 0, 1, 1},
		{"unchanged endpoints write nothing", 150, 150, 2, 0},
		{"growing fills the slice with room first", 150, 160, 2, 1},
		{"shrinking to none leaves a placeholder", 150, 0, 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var existing []*discoveryv1.EndpointSlice
			if tc.before > 0 {
				existing = apply(nil, planSlices(svc, nil, desiredOf(tc.before), MaxEndpointsPerSlice))
			}
			p := planSlices(svc, existing, desiredOf(tc.after), MaxEndpointsPerSlice)
			if got := len(p.create) + len(p.update) + len(p.remove); got != tc.wantWrites {
				t.Fatalf("writes = %d (create %d update %d remove %d), want %d", got, len(p.create), len(p.update), len(p.remove), tc.wantWrites)
			}
			final := apply(existing, p)
			if len(final) != tc.wantSlices {
				t.Fatalf("slices = %d, want %d", len(final), tc.wantSlices)
			}
			seen := map[string]bool{}
			for _, s := range final {
				if len(s.Endpoints) > MaxEndpointsPerSlice {
					t.Fatalf("slice with %d endpoints", len(s.Endpoints))
				}
				if s.Labels[discoveryv1.LabelServiceName] != "web" || s.Labels[discoveryv1.LabelManagedBy] != ControllerName {
					t.Fatalf("slice labels %v", s.Labels)
				}
				for _, e := range s.Endpoints {
					if seen[e.Addresses[0]] {
						t.Fatalf("endpoint %s in two slices", e.Addresses[0])
					}
					seen[e.Addresses[0]] = true
				}
			}
			if len(seen) != tc.after {
				t.Fatalf("%d endpoints placed, want %d", len(seen), tc.after)
			}
		})
	}
}
