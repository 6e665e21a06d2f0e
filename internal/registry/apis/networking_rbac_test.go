package apis

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func ingress(mut func(*networkingv1.Ingress)) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	i := &networkingv1.Ingress{
		ObjectMeta: meta("web"),
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			Host: "web.example.com",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &prefix,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}}},
		}}},
	}
	if mut != nil {
		mut(i)
	}
	return i
}

func TestIngress(t *testing.T) {
	f := funcsFor(t, "networking.k8s.io", "Ingress")
	path := func(i *networkingv1.Ingress) *networkingv1.HTTPIngressPath { return &i.Spec.Rules[0].HTTP.Paths[0] }
	cases := []struct {
		name string
		mut  func(*networkingv1.Ingress)
		want []string
	}{
		{name: "valid"},
		{
			name: "missing pathType",
			mut:  func(i *networkingv1.Ingress) { path(i).PathType = nil },
			want: []string{"spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"},
		},
		{
			name: "relative path",
			mut:  func(i *networkingv1.Ingress) { path(i).Path = "api" },
			want: []string{`spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path`},
		},
		{
			name: "ip host",
			mut:  func(i *networkingv1.Ingress) { i.Spec.Rules[0].Host = "10.0.0.1" },
			want: []string{`spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address`},
		},
		{
			name: "no backend port",
			mut:  func(i *networkingv1.Ingress) { path(i).Backend.Service.Port = networkingv1.ServiceBackendPort{} },
			want: []string{"spec.rules[0].http.paths[0].backend: Required value: port name or number is required"},
		},
		{
			name: "no rules or default backend",
			mut:  func(i *networkingv1.Ingress) { i.Spec.Rules = nil },
			want: []string{"spec: Invalid value: null: either `defaultBackend` or `rules` must be specified"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, create(f, ingress(tc.mut)), tc.want...) })
	}
}

func TestIngressClass(t *testing.T) {
	f := funcsFor(t, "networking.k8s.io", "IngressClass")
	ic := &networkingv1.IngressClass{
		ObjectMeta: clusterMeta("nginx"),
		Spec: networkingv1.IngressClassSpec{
			Controller: "k8s.io/ingress-nginx",
			Parameters: &networkingv1.IngressClassParametersReference{Kind: "Config", Name: "cfg"},
		},
	}
	checkErrs(t, create(f, ic))
	if *ic.Spec.Parameters.Scope != networkingv1.IngressClassParametersReferenceScopeCluster {
		t.Fatalf("scope default = %v", *ic.Spec.Parameters.Scope)
	}
	obj := ic.DeepCopy()
	obj.Spec.Controller = "example.com/other"
	checkErrs(t, update(f, obj, ic), `spec.controller: Invalid value: "example.com/other": field is immutable`)
}

func TestNetworkPolicy(t *testing.T) {
	f := funcsFor(t, "networking.k8s.io", "NetworkPolicy")
	port := intstr.FromInt32(443)
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: meta("allow"),
		Spec: networkingv1.NetworkPolicySpec{
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				Ports: []networkingv1.NetworkPolicyPort{{Port: &port}},
				To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}}},
			}},
		},
	}
	checkErrs(t, create(f, np))
	if !semanticEqual(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) {
		t.Fatalf("policyTypes = %v", np.Spec.PolicyTypes)
	}
	if *np.Spec.Egress[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Fatalf("protocol default = %v", *np.Spec.Egress[0].Ports[0].Protocol)
	}
	bad := np.DeepCopy()
	bad.Spec.Egress[0].To = []networkingv1.NetworkPolicyPeer{
		{},
		{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"192.168.0.0/16"}}, PodSelector: &metav1.LabelSelector{}},
	}
	checkErrs(t, create(f, bad),
		"spec.egress[0].to[0]: Required value: must specify a peer",
		`spec.egress[0].to[1].ipBlock.except[0]: Invalid value: "192.168.0.0/16": must be a strict subset of `+"`cidr`",
		"spec.egress[0].to[1]: Forbidden: may not specify both ipBlock and another peer")
}

func TestRBAC(t *testing.T) {
	t.Run("role rules", func(t *testing.T) {
		f := funcsFor(t, "rbac.authorization.k8s.io", "Role")
		checkErrs(t, create(f, &rbacv1.Role{ObjectMeta: meta("reader"), Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}},
		}}))
		checkErrs(t, create(f, &rbacv1.Role{ObjectMeta: meta("reader"), Rules: []rbacv1.PolicyRule{
			{Resources: []string{"pods"}},
			{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}},
		}}),
			"rules[0].verbs: Required value: verbs must contain at least one value",
			"rules[0].apiGroups: Required value: resource rules must supply at least one api group",
			`rules[1].nonResourceURLs: Invalid value: ["/healthz"]: namespaced rules cannot apply to non-resource URLs`)
	})
	t.Run("cluster role", func(t *testing.T) {
		f := funcsFor(t, "rbac.authorization.k8s.io", "ClusterRole")
		checkErrs(t, create(f, &rbacv1.ClusterRole{ObjectMeta: clusterMeta("system:healthz"), Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}},
		}}))
		checkErrs(t, create(f, &rbacv1.ClusterRole{ObjectMeta: clusterMeta("agg"), AggregationRule: &rbacv1.AggregationRule{}}),
			"aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil")
	})
	t.Run("role binding", func(t *testing.T) {
		f := funcsFor(t, "rbac.authorization.k8s.io", "RoleBinding")
		rb := &rbacv1.RoleBinding{
			ObjectMeta: meta("read"),
			RoleRef:    rbacv1.RoleRef{Kind: "Role", Name: "reader"},
			Subjects: []rbacv1.Subject{
				{Kind: "User", Name: "alice"},
				{Kind: "Group", Name: "devs"},
				{Kind: "ServiceAccount", Name: "default", Namespace: "default"},
			},
		}
		checkErrs(t, create(f, rb))
		if rb.RoleRef.APIGroup != rbacv1.GroupName || rb.Subjects[0].APIGroup != rbacv1.GroupName ||
			rb.Subjects[1].APIGroup != rbacv1.GroupName || rb.Subjects[2].APIGroup != "" {
			t.Fatalf("defaults: %+v %+v", rb.RoleRef, rb.Subjects)
		}
		obj := rb.DeepCopy()
		obj.RoleRef.Name = "admin"
		checkErrs(t, update(f, obj, rb),
			`roleRef: Invalid value: {"APIGroup":"rbac.authorization.k8s.io","Kind":"Role","Name":"admin"}: cannot change roleRef`)
		bad := rb.DeepCopy()
		bad.RoleRef.Kind = "Secret"
		bad.Subjects = []rbacv1.Subject{{Kind: "Robot", Name: "r"}}
		checkErrs(t, create(f, bad),
			`roleRef.kind: Unsupported value: "Secret": supported values: "Role", "ClusterRole"`,
			`subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"`)
	})
	t.Run("cluster role binding", func(t *testing.T) {
		f := funcsFor(t, "rbac.authorization.k8s.io", "ClusterRoleBinding")
		checkErrs(t, create(f, &rbacv1.ClusterRoleBinding{
			ObjectMeta: clusterMeta("read"),
			RoleRef:    rbacv1.RoleRef{Kind: "Role", Name: "reader"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "default"}},
		}),
			`roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"`,
			"subjects[0].namespace: Required value")
	})
}
