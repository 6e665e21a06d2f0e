package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func testService(mutate ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: meta("web"),
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

func TestServiceDefaults(t *testing.T) {
	svc := testService(func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeNodePort
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "https", Port: 443, TargetPort: intstr.FromString("https")})
		s.Spec.Ports[0].Name = "http"
	})
	if got := createErrors(t, "Service", svc); got != "" {
		t.Fatalf("unexpected errors: %s", got)
	}
	s := svc.Spec
	checks := []struct {
		name      string
		got, want any
	}{
		{"sessionAffinity", s.SessionAffinity, corev1.ServiceAffinityNone},
		{"protocol", s.Ports[0].Protocol, corev1.ProtocolTCP},
		{"targetPort from port", s.Ports[0].TargetPort, intstr.FromInt32(80)},
		{"named targetPort kept", s.Ports[1].TargetPort, intstr.FromString("https")},
		{"externalTrafficPolicy", s.ExternalTrafficPolicy, corev1.ServiceExternalTrafficPolicyCluster},
		{"internalTrafficPolicy", *s.InternalTrafficPolicy, corev1.ServiceInternalTrafficPolicyCluster},
		{"ipFamilyPolicy", *s.IPFamilyPolicy, corev1.IPFamilyPolicySingleStack},
		{"ipFamilies", s.IPFamilies, []corev1.IPFamily{corev1.IPv4Protocol}},
	}
	for _, c := range checks {
		if !apiequality.Semantic.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}

	plain := testService()
	hooks(t, "Service").Default(plain)
	if plain.Spec.Type != corev1.ServiceTypeClusterIP || plain.Spec.ExternalTrafficPolicy != "" {
		t.Errorf("ClusterIP defaults: type=%q externalTrafficPolicy=%q", plain.Spec.Type, plain.Spec.ExternalTrafficPolicy)
	}
	v6 := testService(func(s *corev1.Service) { s.Spec.ClusterIP = "fd00::10" })
	if got := createErrors(t, "Service", v6); got != "" || v6.Spec.IPFamilies[0] != corev1.IPv6Protocol || v6.Spec.ClusterIPs[0] != "fd00::10" {
		t.Errorf("IPv6 clusterIP: errors %q, families %v, clusterIPs %v", got, v6.Spec.IPFamilies, v6.Spec.ClusterIPs)
	}
}

func TestServiceValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Service)
		want   string
	}{
		{"valid", func(*corev1.Service) {}, ""},
		{"headless without ports", func(s *corev1.Service) { s.Spec.ClusterIP = "None"; s.Spec.Ports = nil }, ""},
		{"external name", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = "example.com."
			s.Spec.Ports = nil
		}, ""},
		{"name not DNS-1035", func(s *corev1.Service) { s.Name = "1web" },
			`metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`},
		{"no ports", func(s *corev1.Service) { s.Spec.Ports = nil }, "spec.ports: Required value"},
		{"unnamed ports", func(s *corev1.Service) { s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: 443}) },
			"[spec.ports[0].name: Required value, spec.ports[1].name: Required value]"},
		{"duplicate port names", func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: 80}, {Name: "http", Port: 81}}
		}, `spec.ports[1].name: Duplicate value: "http"`},
		{"duplicate port", func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "a", Port: 80}, {Name: "b", Port: 80}}
		}, `spec.ports[1]: Duplicate value: {"protocol":"TCP","port":80,"targetPort":0}`},
		{"bad port", func(s *corev1.Service) { s.Spec.Ports[0].Port = 0 },
			"[spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive, spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive]"},
		{"bad cluster IP", func(s *corev1.Service) { s.Spec.ClusterIP = "10.0.0.300" },
			`spec.clusterIPs[0]: Invalid value: "10.0.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`},
		{"node port on ClusterIP", func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 },
			"spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"},
		{"headless NodePort", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort; s.Spec.ClusterIP = "None" },
			`spec.clusterIPs[0]: Invalid value: "None": may not be set to 'None' for NodePort services`},
		{"unknown type", func(s *corev1.Service) { s.Spec.Type = "Internal" },
			`spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`},
		{"external name missing", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName },
			"spec.externalName: Required value"},
		{"bad selector", func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "-web"} },
			`spec.selector: Invalid value: "-web": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
		{"loopback external IP", func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"127.0.0.1"} },
			`spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)`},
		{"client IP timeout too long", func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](86401)}}
		}, "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be greater than 0 and less than 86400"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := createErrors(t, "Service", testService(tc.mutate)); got != tc.want {
				t.Errorf("errors:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestServiceUpdate(t *testing.T) {
	created := func() *corev1.Service {
		s := testService(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort })
		if got := createErrors(t, "Service", s); got != "" {
			t.Fatalf("fixture: %s", got)
		}
		// What the registry's allocator would have assigned.
		s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.10"}
		s.Spec.Ports[0].NodePort = 30080
		return s
	}
	tests := []struct {
		name   string
		mutate func(*corev1.Service)
		want   string
		check  func(*testing.T, *corev1.Service)
	}{
		{"replace without allocated values", func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil
			s.Spec.Ports[0].NodePort = 0
		}, "", func(t *testing.T, s *corev1.Service) {
			if s.Spec.ClusterIP != "10.96.0.10" || s.Spec.Ports[0].NodePort != 30080 {
				t.Errorf("allocated values not carried: clusterIP=%q nodePort=%d", s.Spec.ClusterIP, s.Spec.Ports[0].NodePort)
			}
		}},
		{"change cluster IP", func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.11" },
			`spec.clusterIPs[0]: Invalid value: ["10.96.0.11"]: may not change once set`, nil},
		{"to ExternalName wipes allocations", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = "example.com"
		}, "", func(t *testing.T, s *corev1.Service) {
			if s.Spec.ClusterIP != "" || s.Spec.IPFamilyPolicy != nil || s.Spec.Ports[0].NodePort != 0 || s.Spec.ExternalTrafficPolicy != "" {
				t.Errorf("type-dependent fields kept: %+v", s.Spec)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := created()
			s := old.DeepCopy()
			tc.mutate(s)
			if got := updateErrors(t, "Service", s, old); got != tc.want {
				t.Errorf("errors:\n got %s\nwant %s", got, tc.want)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
	s := created()
	want := fields.Set{"spec.clusterIP": "10.96.0.10", "spec.type": "NodePort"}
	if got := hooks(t, "Service").Fields(s); !apiequality.Semantic.DeepEqual(got, want) {
		t.Errorf("fields = %v, want %v", got, want)
	}
}

func TestEndpointsValidate(t *testing.T) {
	tests := []struct {
		name   string
		subset corev1.EndpointSubset
		want   string
	}{
		{"valid", corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{{IP: "10.1.0.5"}}, Ports: []corev1.EndpointPort{{Port: 80}}}, ""},
		{"no addresses", corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Port: 80}}},
			"subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"},
		{"loopback", corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{{IP: "127.0.0.1"}}},
			`subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)`},
		{"unnamed ports", corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{{IP: "10.1.0.5"}}, Ports: []corev1.EndpointPort{{Port: 80}, {Name: "b", Port: 81}}},
			"subsets[0].ports[0].name: Required value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep := &corev1.Endpoints{ObjectMeta: meta("web"), Subsets: []corev1.EndpointSubset{tc.subset}}
			if got := createErrors(t, "Endpoints", ep); got != tc.want {
				t.Errorf("errors:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
