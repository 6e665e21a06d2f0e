package auth

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// TestBootstrapPolicyGolden pins the whole default policy, so any change to
// it shows up in review as a diff of testdata/bootstrap-policy.yaml.
func TestBootstrapPolicyGolden(t *testing.T) {
	got, err := yaml.Marshal(BootstrapPolicy())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "bootstrap-policy.yaml")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestBootstrapPolicyGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("BootstrapPolicy differs from %s; run with -update and review the diff", path)
	}
}

func TestBootstrapPolicyShape(t *testing.T) {
	p := BootstrapPolicy()
	roles := map[string]*rbacv1.ClusterRole{}
	for _, cr := range p.ClusterRoles {
		if _, dup := roles[cr.Name]; dup {
			t.Errorf("duplicate cluster role %q", cr.Name)
		}
		roles[cr.Name] = cr
	}

	t.Run("required roles", func(t *testing.T) {
		for _, name := range []string{
			"cluster-admin", "admin", "edit", "view",
			"system:discovery", "system:basic-user", "system:public-info-viewer",
			"system:kube-scheduler", "system:volume-scheduler", "system:kube-controller-manager",
			"system:node", "system:node-proxier", "system:monitoring",
			"system:controller:replicaset-controller", "system:controller:replication-controller",
			"system:controller:deployment-controller", "system:controller:daemon-set-controller",
			"system:controller:statefulset-controller", "system:controller:job-controller",
			"system:controller:cronjob-controller", "system:controller:generic-garbage-collector",
			"system:controller:namespace-controller", "system:controller:node-controller",
			"system:controller:endpoint-controller", "system:controller:endpointslice-controller",
			"system:controller:service-account-controller", "system:controller:horizontal-pod-autoscaler",
			"system:controller:disruption-controller", "system:controller:ttl-after-finished-controller",
		} {
			if roles[name] == nil {
				t.Errorf("missing cluster role %q", name)
			}
		}
	})

	t.Run("default metadata", func(t *testing.T) {
		check := func(kind, name string, labels, annotations map[string]string) {
			if labels[BootstrappingLabel] != BootstrappingValue || annotations[AutoUpdateAnnotation] != "true" {
				t.Errorf("%s %q: labels %v annotations %v", kind, name, labels, annotations)
			}
		}
		for _, o := range p.ClusterRoles {
			check("ClusterRole", o.Name, o.Labels, o.Annotations)
		}
		for _, o := range p.ClusterRoleBindings {
			check("ClusterRoleBinding", o.Name, o.Labels, o.Annotations)
		}
		for _, o := range p.Roles {
			check("Role", o.Name, o.Labels, o.Annotations)
		}
		for _, o := range p.RoleBindings {
			check("RoleBinding", o.Name, o.Labels, o.Annotations)
		}
	})

	t.Run("bindings reference existing roles", func(t *testing.T) {
		for _, b := range p.ClusterRoleBindings {
			if b.RoleRef.Kind != "ClusterRole" || roles[b.RoleRef.Name] == nil {
				t.Errorf("ClusterRoleBinding %q refers to missing %s %q", b.Name, b.RoleRef.Kind, b.RoleRef.Name)
			}
			if len(b.Subjects) == 0 {
				t.Errorf("ClusterRoleBinding %q has no subjects", b.Name)
			}
		}
		nsRoles := map[string]bool{}
		for _, r := range p.Roles {
			nsRoles[r.Namespace+"/"+r.Name] = true
		}
		for _, b := range p.RoleBindings {
			if !nsRoles[b.Namespace+"/"+b.RoleRef.Name] {
				t.Errorf("RoleBinding %s/%s refers to missing Role %q", b.Namespace, b.Name, b.RoleRef.Name)
			}
		}
	})

	t.Run("aggregation admin ⊃ edit ⊃ view", func(t *testing.T) {
		covers := func(outer, inner string) {
			for _, r := range roles[inner].Rules {
				if !slices.ContainsFunc(roles[outer].Rules, func(o rbacv1.PolicyRule) bool { return ruleEqual(&o, &r) }) {
					t.Errorf("%s lacks %s rule %v", outer, inner, r)
				}
			}
		}
		covers("view", "system:aggregate-to-view")
		covers("edit", "view")
		covers("edit", "system:aggregate-to-edit")
		covers("admin", "edit")
		covers("admin", "system:aggregate-to-admin")
		if len(roles["view"].Rules) == 0 || len(roles["edit"].Rules) <= len(roles["view"].Rules) || len(roles["admin"].Rules) <= len(roles["edit"].Rules) {
			t.Errorf("rule counts view=%d edit=%d admin=%d, want strictly increasing", len(roles["view"].Rules), len(roles["edit"].Rules), len(roles["admin"].Rules))
		}
	})

	t.Run("aggregated role powers", func(t *testing.T) {
		u := &User{Name: "u"}
		tests := []struct {
			role  string
			attrs Attributes
			want  bool
		}{
			{"view", resAttrs(u, "get", "a", "", "pods", "", "p"), true},
			{"view", resAttrs(u, "get", "a", "", "secrets", "", "s"), false},
			{"view", resAttrs(u, "list", "a", "events.k8s.io", "events", "", ""), true},
			{"edit", resAttrs(u, "create", "a", "", "secrets", "", ""), true},
			{"edit", resAttrs(u, "create", "a", "", "pods", "exec", "p"), true},
			{"edit", resAttrs(u, "create", "a", "", "endpoints", "", ""), false},
			{"edit", resAttrs(u, "create", "a", "rbac.authorization.k8s.io", "rolebindings", "", ""), false},
			{"admin", resAttrs(u, "create", "a", "rbac.authorization.k8s.io", "rolebindings", "", ""), true},
			{"admin", resAttrs(u, "update", "a", "", "resourcequotas", "", "q"), false},
		}
		for _, tt := range tests {
			lister := NewPolicyLister(Policy{
				ClusterRoles: p.ClusterRoles,
				RoleBindings: []*rbacv1.RoleBinding{testRoleBinding("a", "b", "ClusterRole", tt.role, userSubject("u"))},
			})
			got, _, _ := NewRBAC(lister).Authorize(context.Background(), tt.attrs)
			if got != tt.want {
				t.Errorf("%s %s %s/%s: allowed=%v, want %v", tt.role, tt.attrs.Verb, tt.attrs.Resource, tt.attrs.Subresource, got, tt.want)
			}
		}
	})

	t.Run("controller bindings", func(t *testing.T) {
		for _, b := range p.ClusterRoleBindings {
			name, ok := strings.CutPrefix(b.Name, controllerRolePrefix)
			if !ok {
				continue
			}
			s := b.Subjects
			if len(s) != 1 || s[0].Kind != rbacv1.ServiceAccountKind || s[0].Namespace != "kube-system" || s[0].Name != name {
				t.Errorf("%s subjects = %+v, want ServiceAccount kube-system/%s", b.Name, s, name)
			}
		}
	})

	t.Run("fresh objects per call", func(t *testing.T) {
		p.ClusterRoles[0].Rules[0].Verbs[0] = "mutated"
		p.ClusterRoles[0].Labels["x"] = "y"
		again := BootstrapPolicy()
		if again.ClusterRoles[0].Rules[0].Verbs[0] == "mutated" || again.ClusterRoles[0].Labels["x"] == "y" {
			t.Error("BootstrapPolicy shares state between calls")
		}
	})
}
