package auth

import (
	"context"
	"fmt"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
)

// Fixture builders.

func testClusterRole(name string, rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
}

func testRole(ns, name string, rules ...rbacv1.PolicyRule) *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}
}

func testRoleBinding(ns, name, roleKind, roleName string, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: roleKind, Name: roleName},
		Subjects:   subjects,
	}
}

func testClusterRoleBinding(name, roleName string, subjects ...rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: roleName},
		Subjects:   subjects,
	}
}

func resAttrs(u *User, verb, ns, group, resource, sub, name string) Attributes {
	return Attributes{User: u, Verb: verb, Namespace: ns, APIGroup: group, APIVersion: "v1",
		Resource: resource, Subresource: sub, Name: name, ResourceRequest: true}
}

func pathAttrs(u *User, verb, path string) Attributes {
	return Attributes{User: u, Verb: verb, Path: path}
}

// testPolicy is the bootstrap policy plus the bindings the tests exercise.
func testPolicy() Policy {
	p := BootstrapPolicy()
	p.ClusterRoles = append(p.ClusterRoles,
		testClusterRole("pod-reader-web", newRule("get").groups("").resources("pods").names("web").rule()),
		testClusterRole("pod-logs", newRule("get").groups("").resources("pods/log").rule()),
		testClusterRole("any-status", newRule("update").groups("*").resources("*/status").rule()),
		testClusterRole("api-reader", newRule("get").urls("/api/*").rule()),
	)
	p.Roles = append(p.Roles,
		testRole("a", "cm-writer", newRule("create", "update").groups("").resources("configmaps").rule()))
	p.RoleBindings = append(p.RoleBindings,
		testRoleBinding("a", "alice-view", "ClusterRole", "view", userSubject("alice")),
		testRoleBinding("a", "alice-cm", "Role", "cm-writer", userSubject("alice")),
		testRoleBinding("a", "alice-web", "ClusterRole", "pod-reader-web", userSubject("alice")),
		testRoleBinding("a", "alice-logs", "ClusterRole", "pod-logs", userSubject("alice")),
		testRoleBinding("a", "local-sa", "ClusterRole", "view", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "robot"}),
		testRoleBinding("a", "dangling", "ClusterRole", "does-not-exist", userSubject("dave")),
	)
	p.ClusterRoleBindings = append(p.ClusterRoleBindings,
		testClusterRoleBinding("bob-edit", "edit", userSubject("bob")),
		testClusterRoleBinding("devs-status", "any-status", groupSubject("devs")),
		testClusterRoleBinding("carol-api", "api-reader", userSubject("carol")),
		testClusterRoleBinding("sa-view", "view", serviceAccountSubject("ci", "deployer")),
		testClusterRoleBinding("frank-web", "pod-reader-web", userSubject("frank")),
		testClusterRoleBinding("frank-logs", "pod-logs", userSubject("frank")),
	)
	return p
}

func TestRBAC(t *testing.T) {
	alice := &User{Name: "alice", Groups: []string{GroupAuthenticated}}
	bob := &User{Name: "bob", Groups: []string{GroupAuthenticated}}
	carol := &User{Name: "carol", Groups: []string{GroupAuthenticated}}
	dave := &User{Name: "dave", Groups: []string{GroupAuthenticated}}
	frank := &User{Name: "frank", Groups: []string{GroupAuthenticated}}
	dev := &User{Name: "erin", Groups: []string{"devs", GroupAuthenticated}}
	anon := Anonymous()
	ciSA := &User{Name: "system:serviceaccount:ci:deployer", Groups: []string{GroupServiceAccounts, "system:serviceaccounts:ci", GroupAuthenticated}}
	robotA := &User{Name: "system:serviceaccount:a:robot"}
	robotB := &User{Name: "system:serviceaccount:b:robot"}
	scheduler := &User{Name: UserKubeScheduler, Groups: []string{GroupAuthenticated}}
	rsController := &User{Name: "system:serviceaccount:kube-system:replicaset-controller"}
	node := &User{Name: "system:node:n1", Groups: []string{GroupNodes, GroupAuthenticated}}
	master := &User{Name: "admin", Groups: []string{GroupMasters, GroupAuthenticated}}

	tests := []struct {
		name       string
		attrs      Attributes
		want       bool
		wantReason string
	}{
		// RoleBinding to view in namespace a.
		{name: "view get pods in a", attrs: resAttrs(alice, "get", "a", "", "pods", "", "p"), want: true,
			wantReason: `RBAC: allowed by RoleBinding "alice-view/a" of ClusterRole "view" to User "alice"`},
		{name: "view list pods in a", attrs: resAttrs(alice, "list", "a", "", "pods", "", ""), want: true},
		{name: "view watch pods in a", attrs: resAttrs(alice, "watch", "a", "", "pods", "", ""), want: true},
		{name: "view list pods in b", attrs: resAttrs(alice, "list", "b", "", "pods", "", "")},
		{name: "view list pods cluster-wide", attrs: resAttrs(alice, "list", "", "", "pods", "", "")},
		{name: "view create pods in a", attrs: resAttrs(alice, "create", "a", "", "pods", "", "")},
		{name: "view cannot read secrets", attrs: resAttrs(alice, "get", "a", "", "secrets", "", "s")},
		{name: "view list deployments in a", attrs: resAttrs(alice, "list", "a", "apps", "deployments", "", ""), want: true},
		{name: "view wrong group", attrs: resAttrs(alice, "list", "a", "example.com", "deployments", "", "")},
		{name: "role in a allows create configmaps", attrs: resAttrs(alice, "create", "a", "", "configmaps", "", "c"), want: true,
			wantReason: `RBAC: allowed by RoleBinding "alice-cm/a" of Role "cm-writer" to User "alice"`},

		// ClusterRoleBinding to edit.
		{name: "edit create deployments anywhere", attrs: resAttrs(bob, "create", "b", "apps", "deployments", "", ""), want: true,
			wantReason: `RBAC: allowed by ClusterRoleBinding "bob-edit" of ClusterRole "edit" to User "bob"`},
		{name: "edit read secrets", attrs: resAttrs(bob, "get", "x", "", "secrets", "", "s"), want: true},
		{name: "edit cannot create roles", attrs: resAttrs(bob, "create", "x", "rbac.authorization.k8s.io", "roles", "", "")},
		{name: "edit cannot update pod status", attrs: resAttrs(bob, "update", "x", "", "pods", "status", "p")},
		{name: "edit has no nodes", attrs: resAttrs(bob, "list", "", "", "nodes", "", "")},

		// resourceNames.
		{name: "named pod allowed", attrs: resAttrs(frank, "get", "q", "", "pods", "", "web"), want: true,
			wantReason: `RBAC: allowed by ClusterRoleBinding "frank-web" of ClusterRole "pod-reader-web" to User "frank"`},
		{name: "other pod name denied", attrs: resAttrs(frank, "get", "q", "", "pods", "", "db")},
		{name: "resourceNames rule does not cover list", attrs: resAttrs(frank, "list", "q", "", "pods", "", "")},

		// Subresources.
		{name: "pods/log via view", attrs: resAttrs(alice, "get", "a", "", "pods", "log", "p"), want: true},
		{name: "pods/log rule grants pods/log", attrs: resAttrs(frank, "get", "q", "", "pods", "log", "db"), want: true},
		{name: "pods/log rule does not grant pods", attrs: resAttrs(frank, "get", "q", "", "pods", "", "db")},
		{name: "pods/log rule does not grant pods/exec", attrs: resAttrs(frank, "get", "q", "", "pods", "exec", "db")},
		{name: "view has no pods/exec", attrs: resAttrs(alice, "get", "a", "", "pods", "exec", "p")},
		{name: "*/status matches pods/status", attrs: resAttrs(dev, "update", "z", "", "pods", "status", "p"), want: true},
		{name: "*/status matches deployments/status", attrs: resAttrs(dev, "update", "z", "apps", "deployments", "status", "d"), want: true},
		{name: "*/status does not match pods", attrs: resAttrs(dev, "update", "z", "", "pods", "", "p")},
		{name: "*/status does not match pods/scale", attrs: resAttrs(dev, "update", "z", "", "pods", "scale", "p")},

		// Non-resource URLs.
		{name: "anonymous healthz", attrs: pathAttrs(anon, "get", "/healthz"), want: true},
		{name: "anonymous version", attrs: pathAttrs(anon, "get", "/version"), want: true},
		{name: "anonymous cannot discover", attrs: pathAttrs(anon, "get", "/api")},
		{name: "anonymous cannot list pods", attrs: resAttrs(anon, "list", "a", "", "pods", "", "")},
		{name: "authenticated discovers /api", attrs: pathAttrs(alice, "get", "/api"), want: true},
		{name: "authenticated discovers /apis/apps/v1", attrs: pathAttrs(alice, "get", "/apis/apps/v1"), want: true},
		{name: "discovery is get only", attrs: pathAttrs(alice, "post", "/api")},
		{name: "authenticated cannot read metrics", attrs: pathAttrs(alice, "get", "/metrics")},
		{name: "prefix /api/* matches /api/v1", attrs: pathAttrs(carol, "get", "/api/v1"), want: true},
		{name: "non-resource rule ignores resource requests", attrs: resAttrs(carol, "get", "", "", "api", "", "")},

		// Service accounts.
		{name: "SA subject with namespace", attrs: resAttrs(ciSA, "list", "prod", "", "pods", "", ""), want: true,
			wantReason: `RBAC: allowed by ClusterRoleBinding "sa-view" of ClusterRole "view" to ServiceAccount "deployer/ci"`},
		{name: "SA subject defaults to binding namespace", attrs: resAttrs(robotA, "list", "a", "", "pods", "", ""), want: true,
			wantReason: `RBAC: allowed by RoleBinding "local-sa/a" of ClusterRole "view" to ServiceAccount "robot/a"`},
		{name: "same SA name other namespace", attrs: resAttrs(robotB, "list", "a", "", "pods", "", "")},

		// Bootstrap bindings.
		{name: "scheduler binds pods", attrs: resAttrs(scheduler, "create", "a", "", "pods", "binding", "p"), want: true},
		{name: "scheduler cannot create pods", attrs: resAttrs(scheduler, "create", "a", "", "pods", "", "")},
		{name: "replicaset controller creates pods", attrs: resAttrs(rsController, "create", "a", "", "pods", "", ""), want: true},
		{name: "node updates node status", attrs: resAttrs(node, "patch", "", "", "nodes", "status", "n1"), want: true},
		{name: "node renews lease", attrs: resAttrs(node, "update", "kube-node-lease", "coordination.k8s.io", "leases", "", "n1"), want: true},
		{name: "masters via cluster-admin binding", attrs: resAttrs(master, "delete", "", "", "nodes", "", "n1"), want: true,
			wantReason: `RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"`},

		// Resolution errors end up in the deny reason.
		{name: "dangling role ref", attrs: resAttrs(dave, "get", "a", "", "pods", "", "p"),
			wantReason: `RBAC: clusterrole.rbac.authorization.k8s.io "does-not-exist" not found`},
		{name: "no user", attrs: resAttrs(nil, "get", "a", "", "pods", "", "p")},
	}
	authz := NewRBAC(NewPolicyLister(testPolicy()))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason, err := authz.Authorize(context.Background(), tt.attrs)
			if err != nil {
				t.Fatalf("RBAC returned error %v", err)
			}
			if got != tt.want {
				t.Fatalf("allowed = %v (reason %q), want %v", got, reason, tt.want)
			}
			if tt.wantReason != "" && reason != tt.wantReason {
				t.Errorf("reason = %q, want %q", reason, tt.wantReason)
			}
			if !tt.want && tt.wantReason == "" && reason != "" {
				t.Errorf("deny reason = %q, want empty", reason)
			}
		})
	}
}

func TestPrivilegedAndUnion(t *testing.T) {
	rbac := NewRBAC(NewPolicyLister(Policy{}))
	failing := AuthorizerFunc(func(context.Context, Attributes) (bool, string, error) {
		return false, "webhook down", fmt.Errorf("webhook: connection refused")
	})
	authz := NewUnionAuthorizer(NewPrivilegedGroups(GroupMasters), rbac)
	master := &User{Name: "root", Groups: []string{GroupMasters}}
	alice := &User{Name: "alice"}
	tests := []struct {
		name       string
		authz      Authorizer
		attrs      Attributes
		want       bool
		wantReason string
		wantErr    bool
	}{
		{name: "masters without any RBAC objects", authz: authz, attrs: resAttrs(master, "delete", "", "", "nodes", "", "n"), want: true},
		{name: "masters non-resource", authz: authz, attrs: pathAttrs(master, "get", "/debug/pprof/"), want: true},
		{name: "others denied", authz: authz, attrs: resAttrs(alice, "get", "a", "", "pods", "", "")},
		{name: "nil user", authz: authz, attrs: resAttrs(nil, "get", "a", "", "pods", "", "")},
		{name: "reasons and errors collected", authz: NewUnionAuthorizer(failing, rbac), attrs: resAttrs(alice, "get", "a", "", "pods", "", ""),
			wantReason: "webhook down", wantErr: true},
		{name: "allow after error wins", authz: NewUnionAuthorizer(failing, NewPrivilegedGroups(GroupMasters)), attrs: pathAttrs(master, "get", "/"), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason, err := tt.authz.Authorize(context.Background(), tt.attrs)
			if got != tt.want || reason != tt.wantReason || (err != nil) != tt.wantErr {
				t.Errorf("got (%v, %q, %v), want (%v, %q, err=%v)", got, reason, err, tt.want, tt.wantReason, tt.wantErr)
			}
		})
	}
}

func TestForbiddenMessage(t *testing.T) {
	alice := &User{Name: "alice"}
	tests := []struct {
		name  string
		attrs Attributes
		want  string
	}{
		{name: "namespaced", attrs: resAttrs(alice, "list", "other", "", "pods", "", ""),
			want: `User "alice" cannot list resource "pods" in API group "" in the namespace "other"`},
		{name: "cluster scope", attrs: resAttrs(alice, "get", "", "", "nodes", "", "n1"),
			want: `User "alice" cannot get resource "nodes" in API group "" at the cluster scope`},
		{name: "named group", attrs: resAttrs(alice, "create", "a", "apps", "deployments", "", ""),
			want: `User "alice" cannot create resource "deployments" in API group "apps" in the namespace "a"`},
		{name: "subresource", attrs: resAttrs(alice, "get", "a", "", "pods", "log", "p"),
			want: `User "alice" cannot get resource "pods/log" in API group "" in the namespace "a"`},
		{name: "non-resource", attrs: pathAttrs(&User{Name: "x"}, "get", "/foo"),
			want: `User "x" cannot get path "/foo"`},
		{name: "anonymous", attrs: resAttrs(Anonymous(), "list", "default", "", "pods", "", ""),
			want: `User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"`},
		{name: "anonymous path", attrs: pathAttrs(Anonymous(), "get", "/api"),
			want: `User "system:anonymous" cannot get path "/api"`},
		{name: "service account", attrs: resAttrs(&User{Name: "system:serviceaccount:default:default"}, "list", "", "apps", "deployments", "", ""),
			want: `User "system:serviceaccount:default:default" cannot list resource "deployments" in API group "apps" at the cluster scope`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ForbiddenMessage(tt.attrs); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestListerFromInformers(t *testing.T) {
	p := testPolicy()
	factory := informers.NewSharedInformerFactory(nil, 0)
	lister := ListerFromInformers(factory)
	rbacInformers := factory.Rbac().V1()
	add := func(store interface{ Add(any) error }, obj any) {
		if err := store.Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range p.ClusterRoles {
		add(rbacInformers.ClusterRoles().Informer().GetIndexer(), o)
	}
	for _, o := range p.ClusterRoleBindings {
		add(rbacInformers.ClusterRoleBindings().Informer().GetIndexer(), o)
	}
	for _, o := range p.Roles {
		add(rbacInformers.Roles().Informer().GetIndexer(), o)
	}
	for _, o := range p.RoleBindings {
		add(rbacInformers.RoleBindings().Informer().GetIndexer(), o)
	}
	authz := NewRBAC(lister)
	alice := &User{Name: "alice"}
	for _, tt := range []struct {
		name  string
		attrs Attributes
		want  bool
	}{
		{"rolebinding in a", resAttrs(alice, "list", "a", "", "pods", "", ""), true},
		{"other namespace", resAttrs(alice, "list", "b", "", "pods", "", ""), false},
		{"role in a", resAttrs(alice, "create", "a", "", "configmaps", "", ""), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, reason, _ := authz.Authorize(context.Background(), tt.attrs)
			if got != tt.want {
				t.Errorf("allowed = %v (%s), want %v", got, reason, tt.want)
			}
		})
	}
	_, reason, _ := authz.Authorize(context.Background(), resAttrs(&User{Name: "dave"}, "get", "a", "", "pods", "", ""))
	if !strings.Contains(reason, `"does-not-exist" not found`) {
		t.Errorf("dangling reason = %q", reason)
	}
}

// benchPolicy has ~100 bindings: cluster role bindings for other users and
// groups, role bindings in the target namespace, and the one that matches
// last, so every request scans them all.
func benchPolicy() Policy {
	p := BootstrapPolicy() // ~45 cluster role bindings
	for i := range 30 {
		p.ClusterRoleBindings = append(p.ClusterRoleBindings,
			testClusterRoleBinding(fmt.Sprintf("crb-%d", i), "view", userSubject(fmt.Sprintf("user-%d", i)), groupSubject(fmt.Sprintf("group-%d", i))))
	}
	for i := range 25 {
		p.RoleBindings = append(p.RoleBindings,
			testRoleBinding("team", fmt.Sprintf("rb-%d", i), "ClusterRole", "edit", serviceAccountSubject("team", fmt.Sprintf("sa-%d", i))))
	}
	p.RoleBindings = append(p.RoleBindings, testRoleBinding("team", "target", "ClusterRole", "view", userSubject("target")))
	return p
}

func BenchmarkAuthorize(b *testing.B) {
	p := benchPolicy()
	user := &User{Name: "target", Groups: []string{"dev", GroupAuthenticated}}
	allowed := resAttrs(user, "list", "team", "apps", "deployments", "", "")
	denied := resAttrs(user, "delete", "team", "apps", "deployments", "", "d")
	listers := map[string]RBACLister{"policy": NewPolicyLister(p)}

	factory := informers.NewSharedInformerFactory(nil, 0)
	listers["informer"] = ListerFromInformers(factory)
	rbacInformers := factory.Rbac().V1()
	for _, o := range p.ClusterRoles {
		_ = rbacInformers.ClusterRoles().Informer().GetIndexer().Add(o)
	}
	for _, o := range p.ClusterRoleBindings {
		_ = rbacInformers.ClusterRoleBindings().Informer().GetIndexer().Add(o)
	}
	for _, o := range p.RoleBindings {
		_ = rbacInformers.RoleBindings().Informer().GetIndexer().Add(o)
	}

	for _, lname := range []string{"policy", "informer"} {
		authz := NewRBAC(listers[lname])
		for _, c := range []struct {
			name  string
			attrs Attributes
			want  bool
		}{{"allowed", allowed, true}, {"denied", denied, false}} {
			b.Run(lname+"/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				ctx := context.Background()
				for b.Loop() {
					ok, _, _ := authz.Authorize(ctx, c.attrs)
					if ok != c.want {
						b.Fatalf("allowed = %v, want %v", ok, c.want)
					}
				}
			})
		}
	}
}
