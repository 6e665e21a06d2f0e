package apis

import (
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestPodDisruptionBudget(t *testing.T) {
	f := funcsFor(t, "policy", "PodDisruptionBudget")
	two, pct := intstr.FromInt32(2), intstr.FromString("150%")
	cases := []struct {
		name string
		spec policyv1.PodDisruptionBudgetSpec
		want []string
	}{
		{name: "valid", spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &two, Selector: &metav1.LabelSelector{MatchLabels: appLabels}}},
		{
			name: "both set",
			spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &two, MaxUnavailable: &two},
			want: []string{`spec: Invalid value: {"minAvailable":2,"maxUnavailable":2}: minAvailable and maxUnavailable cannot be both set`},
		},
		{
			name: "percent over 100",
			spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &pct},
			want: []string{`spec.maxUnavailable: Invalid value: "150%": must not be greater than 100%`},
		},
		{
			name: "eviction policy",
			spec: policyv1.PodDisruptionBudgetSpec{UnhealthyPodEvictionPolicy: ptrTo(policyv1.UnhealthyPodEvictionPolicyType("Never"))},
			want: []string{`spec.unhealthyPodEvictionPolicy: Unsupported value: "Never": supported values: "AlwaysAllow", "IfHealthyBudget"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, create(f, &policyv1.PodDisruptionBudget{ObjectMeta: meta("pdb"), Spec: tc.spec}), tc.want...)
		})
	}
}

func TestLease(t *testing.T) {
	f := funcsFor(t, "coordination.k8s.io", "Lease")
	checkErrs(t, create(f, &coordinationv1.Lease{ObjectMeta: meta("node-1"), Spec: coordinationv1.LeaseSpec{
		HolderIdentity: ptrTo("node-1"), LeaseDurationSeconds: ptrTo(int32(40)),
	}}))
	checkErrs(t, create(f, &coordinationv1.Lease{ObjectMeta: meta("node-1"), Spec: coordinationv1.LeaseSpec{
		LeaseDurationSeconds: ptrTo(int32(0)), PreferredHolder: ptrTo("b"),
	}}), "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
		"spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined")
}

func TestEndpointSlice(t *testing.T) {
	f := funcsFor(t, "discovery.k8s.io", "EndpointSlice")
	slice := func(mut func(*discoveryv1.EndpointSlice)) *discoveryv1.EndpointSlice {
		s := &discoveryv1.EndpointSlice{
			ObjectMeta:  meta("web-abc"),
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}},
			Ports:       []discoveryv1.EndpointPort{{Name: ptrTo("http"), Port: ptrTo(int32(80))}},
		}
		if mut != nil {
			mut(s)
		}
		return s
	}
	s := slice(nil)
	checkErrs(t, create(f, s))
	if *s.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Fatalf("port protocol default = %v", *s.Ports[0].Protocol)
	}
	cases := []struct {
		name string
		mut  func(*discoveryv1.EndpointSlice)
		want []string
	}{
		{name: "missing address type", mut: func(s *discoveryv1.EndpointSlice) { s.AddressType = "" }, want: []string{"addressType: Required value"}},
		{
			name: "no addresses",
			mut:  func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = nil },
			want: []string{"endpoints[0].addresses: Required value: must contain at least 1 address"},
		},
		{
			name: "loopback",
			mut:  func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = []string{"127.0.0.1"} },
			want: []string{`endpoints[0].addresses[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)`},
		},
		{
			name: "wrong family",
			mut:  func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = []string{"fd00::1"} },
			want: []string{`endpoints[0].addresses[0]: Invalid value: "fd00::1": must be an IPv4 address`},
		},
		{
			name: "duplicate port names",
			mut: func(s *discoveryv1.EndpointSlice) {
				s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: ptrTo("http"), Port: ptrTo(int32(81))})
			},
			want: []string{`ports[1].name: Duplicate value: "http"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, create(f, slice(tc.mut)), tc.want...) })
	}
	t.Run("address type immutable, generation bumped", func(t *testing.T) {
		old := slice(nil)
		checkErrs(t, create(f, old))
		obj := old.DeepCopy()
		obj.Endpoints[0].Addresses = []string{"10.0.0.2"}
		checkErrs(t, update(f, obj, old))
		if obj.Generation != old.Generation+1 {
			t.Fatalf("generation = %d", obj.Generation)
		}
		obj = old.DeepCopy()
		obj.AddressType = discoveryv1.AddressTypeFQDN
		obj.Endpoints[0].Addresses = []string{"web.example.com"}
		checkErrs(t, update(f, obj, old), `addressType: Invalid value: "FQDN": field is immutable`)
	})
}

func TestStorageClass(t *testing.T) {
	f := funcsFor(t, "storage.k8s.io", "StorageClass")
	sc := &storagev1.StorageClass{ObjectMeta: clusterMeta("standard"), Provisioner: "kubernetes.io/no-provisioner", Parameters: map[string]string{"type": "ssd"}}
	checkErrs(t, create(f, sc))
	if *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete || *sc.VolumeBindingMode != storagev1.VolumeBindingImmediate {
		t.Fatalf("defaults: %v %v", *sc.ReclaimPolicy, *sc.VolumeBindingMode)
	}
	checkErrs(t, create(f, &storagev1.StorageClass{ObjectMeta: clusterMeta("x")}), "provisioner: Required value")
	obj := sc.DeepCopy()
	obj.Provisioner = "example.com/other"
	obj.Parameters = map[string]string{"type": "hdd"}
	checkErrs(t, update(f, obj, sc),
		"provisioner: Forbidden: updates to provisioner are forbidden.",
		"parameters: Forbidden: updates to parameters are forbidden.")
}

func TestPriorityClass(t *testing.T) {
	f := funcsFor(t, "scheduling.k8s.io", "PriorityClass")
	pc := &schedulingv1.PriorityClass{ObjectMeta: clusterMeta("high"), Value: 1000}
	checkErrs(t, create(f, pc))
	if *pc.PreemptionPolicy != corev1.PreemptLowerPriority {
		t.Fatalf("preemptionPolicy default = %v", *pc.PreemptionPolicy)
	}
	checkErrs(t, create(f, &schedulingv1.PriorityClass{ObjectMeta: clusterMeta("system-custom"), Value: 10}),
		"metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-custom is not a known system priority class")
	checkErrs(t, create(f, &schedulingv1.PriorityClass{ObjectMeta: clusterMeta("system-node-critical"), Value: 2000001000}))
	checkErrs(t, create(f, &schedulingv1.PriorityClass{ObjectMeta: clusterMeta("huge"), Value: 2000000000}),
		"value: Forbidden: maximum allowed value of a user defined priority is 1000000000")
	obj := pc.DeepCopy()
	obj.Value = 5
	checkErrs(t, update(f, obj, pc), "value: Forbidden: may not be changed in an update.")
}
