package auth

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Policy is a set of RBAC objects: what the API server creates at start-up
// (see [BootstrapPolicy]) and what [NewPolicyLister] serves.
type Policy struct {
	ClusterRoles        []*rbacv1.ClusterRole
	ClusterRoleBindings []*rbacv1.ClusterRoleBinding
	Roles               []*rbacv1.Role
	RoleBindings        []*rbacv1.RoleBinding
}

// Labels, annotations and selectors of upstream's default policy. The
// autoupdate annotation tells the API server it may reconcile the object back
// to the default at start-up; users set it to "false" to keep their edits.
const (
	BootstrappingLabel   = "kubernetes.io/bootstrapping"
	BootstrappingValue   = "rbac-defaults"
	AutoUpdateAnnotation = rbacv1.AutoUpdateAnnotationKey

	aggregateToAdmin = "rbac.authorization.k8s.io/aggregate-to-admin"
	aggregateToEdit  = "rbac.authorization.k8s.io/aggregate-to-edit"
	aggregateToView  = "rbac.authorization.k8s.io/aggregate-to-view"

	// controllerRolePrefix prefixes the per-controller roles and bindings.
	controllerRolePrefix = "system:controller:"
	// systemNamespace holds controller service accounts and leader locks.
	systemNamespace = "kube-system"
)

// API groups named by the default policy.
const (
	legacyGroup         = ""
	appsGroup           = "apps"
	authenticationGroup = "authentication.k8s.io"
	authorizationGroup  = "authorization.k8s.io"
	autoscalingGroup    = "autoscaling"
	batchGroup          = "batch"
	certificatesGroup   = "certificates.k8s.io"
	coordinationGroup   = "coordination.k8s.io"
	discoveryGroup      = "discovery.k8s.io"
	eventsGroup         = "events.k8s.io"
	extensionsGroup     = "extensions"
	networkingGroup     = "networking.k8s.io"
	nodeGroup           = "node.k8s.io"
	policyGroup         = "policy"
	rbacGroup           = "rbac.authorization.k8s.io"
	resourceGroup       = "resource.k8s.io"
	storageGroup        = "storage.k8s.io"
)

// BootstrapPolicy returns upstream's (v1.37) default RBAC policy for what
// kplane serves: the user-facing roles (cluster-admin, admin, edit, view and
// their system:aggregate-to-* parts), discovery and public-info roles, the
// scheduler, controller-manager, node, node-proxier, volume-scheduler and
// monitoring roles, one system:controller:* role per controller kplane runs,
// the leader-locking Roles in kube-system, and their bindings. Every object
// carries the kubernetes.io/bootstrapping=rbac-defaults label and the
// autoupdate annotation.
//
// admin, edit and view keep their aggregationRule but their rules are
// already expanded, as the upstream clusterrole-aggregation controller would
// leave them (admin ⊃ edit ⊃ view), so the RBAC authorizer can use them
// without that controller.
//
// Deliberate difference: upstream leaves the system:node binding without
// subjects (kubelets are authorized by the Node authorizer, which kplane does
// not have); here it binds the system:nodes group.
//
// Each call returns fresh objects the caller may modify.
func BootstrapPolicy() Policy {
	crs := append(clusterRoles(), controllerRoles()...)
	aggregate(crs)
	p := Policy{
		ClusterRoles:        crs,
		ClusterRoleBindings: append(clusterRoleBindings(), controllerRoleBindings()...),
		Roles:               namespaceRoles(),
		RoleBindings:        namespaceRoleBindings(),
	}
	for _, o := range p.ClusterRoles {
		addDefaultMetadata(&o.ObjectMeta)
	}
	for _, o := range p.ClusterRoleBindings {
		addDefaultMetadata(&o.ObjectMeta)
	}
	for _, o := range p.Roles {
		addDefaultMetadata(&o.ObjectMeta)
	}
	for _, o := range p.RoleBindings {
		addDefaultMetadata(&o.ObjectMeta)
	}
	return p
}

func addDefaultMetadata(m *metav1.ObjectMeta) {
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	m.Labels[BootstrappingLabel] = BootstrappingValue
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[AutoUpdateAnnotation] = "true"
}

// aggregate fills the rules of aggregated cluster roles the way upstream's
// clusterrole-aggregation controller does: for each selector, the matching
// roles sorted by name contribute their rules in order, skipping duplicates.
// Roles are processed view, edit, admin (each aggregates the previous one).
func aggregate(crs []*rbacv1.ClusterRole) {
	byName := make(map[string]*rbacv1.ClusterRole, len(crs))
	for _, cr := range crs {
		byName[cr.Name] = cr
	}
	for _, name := range []string{"view", "edit", "admin"} {
		target := byName[name]
		if target == nil || target.AggregationRule == nil {
			continue
		}
		var rules []rbacv1.PolicyRule
		for _, sel := range target.AggregationRule.ClusterRoleSelectors {
			selector := labels.SelectorFromSet(sel.MatchLabels)
			var matched []*rbacv1.ClusterRole
			for _, cr := range crs {
				if cr.Name != target.Name && selector.Matches(labels.Set(cr.Labels)) {
					matched = append(matched, cr)
				}
			}
			slices.SortFunc(matched, func(a, b *rbacv1.ClusterRole) int {
				switch {
				case a.Name < b.Name:
					return -1
				case a.Name > b.Name:
					return 1
				}
				return 0
			})
			for _, cr := range matched {
				for _, r := range cr.Rules {
					if !slices.ContainsFunc(rules, func(e rbacv1.PolicyRule) bool { return ruleEqual(&e, &r) }) {
						rules = append(rules, *r.DeepCopy())
					}
				}
			}
		}
		target.Rules = rules
	}
}

func ruleEqual(a, b *rbacv1.PolicyRule) bool {
	return slices.Equal(a.Verbs, b.Verbs) && slices.Equal(a.APIGroups, b.APIGroups) &&
		slices.Equal(a.Resources, b.Resources) && slices.Equal(a.ResourceNames, b.ResourceNames) &&
		slices.Equal(a.NonResourceURLs, b.NonResourceURLs)
}

// Verb sets used by upstream's policy.
var (
	verbsRead      = []string{"get", "list", "watch"}
	verbsWrite     = []string{"create", "update", "patch", "delete", "deletecollection"}
	verbsReadWrite = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
)

// ruleBuilder builds a PolicyRule with sorted, de-duplicated fields, as
// upstream's rule builder, so objects compare equal to upstream's.
type ruleBuilder struct {
	r rbacv1.PolicyRule
}

func newRule(verbs ...string) *ruleBuilder {
	return &ruleBuilder{r: rbacv1.PolicyRule{Verbs: sortedSet(verbs)}}
}

func (b *ruleBuilder) groups(g ...string) *ruleBuilder {
	b.r.APIGroups = sortedSet(append(b.r.APIGroups, g...))
	return b
}

func (b *ruleBuilder) resources(r ...string) *ruleBuilder {
	b.r.Resources = sortedSet(append(b.r.Resources, r...))
	return b
}

func (b *ruleBuilder) names(n ...string) *ruleBuilder {
	b.r.ResourceNames = sortedSet(append(b.r.ResourceNames, n...))
	return b
}

func (b *ruleBuilder) urls(u ...string) *ruleBuilder {
	b.r.NonResourceURLs = sortedSet(append(b.r.NonResourceURLs, u...))
	return b
}

func (b *ruleBuilder) rule() rbacv1.PolicyRule { return b.r }

func sortedSet(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// eventsRule lets a component record events through either events API.
func eventsRule() rbacv1.PolicyRule {
	return newRule("create", "update", "patch").groups(legacyGroup, eventsGroup).resources("events").rule()
}

func clusterRole(name string, rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
}

func userSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

func groupSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

func serviceAccountSubject(namespace, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}
}

func clusterRoleBinding(roleName string, subjects ...rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: roleName},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: roleName},
		Subjects:   subjects,
	}
}

func clusterRoleBindings() []*rbacv1.ClusterRoleBinding {
	return []*rbacv1.ClusterRoleBinding{
		clusterRoleBinding("cluster-admin", groupSubject(GroupMasters)),
		clusterRoleBinding("system:monitoring", groupSubject(GroupMonitoring)),
		clusterRoleBinding("system:discovery", groupSubject(GroupAuthenticated)),
		clusterRoleBinding("system:basic-user", groupSubject(GroupAuthenticated)),
		clusterRoleBinding("system:public-info-viewer", groupSubject(GroupAuthenticated), groupSubject(GroupUnauthenticated)),
		clusterRoleBinding("system:node-proxier", userSubject(UserKubeProxy)),
		clusterRoleBinding("system:kube-controller-manager", userSubject(UserKubeControllerManager)),
		clusterRoleBinding("system:kube-scheduler", userSubject(UserKubeScheduler)),
		clusterRoleBinding("system:volume-scheduler", userSubject(UserKubeScheduler)),
		clusterRoleBinding("system:node", groupSubject(GroupNodes)),
		clusterRoleBinding("system:service-account-issuer-discovery", groupSubject(GroupServiceAccounts)),
	}
}

// namespaceRoles are upstream's kube-system Roles for leader election and
// reading the authentication config map.
func namespaceRoles() []*rbacv1.Role {
	role := func(name string, rules ...rbacv1.PolicyRule) *rbacv1.Role {
		return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: systemNamespace}, Rules: rules}
	}
	return []*rbacv1.Role{
		role("extension-apiserver-authentication-reader",
			newRule(verbsRead...).groups(legacyGroup).resources("configmaps").names("extension-apiserver-authentication").rule()),
		role("system::leader-locking-kube-controller-manager",
			newRule("watch").groups(legacyGroup).resources("configmaps").rule(),
			newRule("get", "update").groups(legacyGroup).resources("configmaps").names("kube-controller-manager").rule()),
		role("system::leader-locking-kube-scheduler",
			newRule("watch").groups(legacyGroup).resources("configmaps").rule(),
			newRule("get", "update").groups(legacyGroup).resources("configmaps").names("kube-scheduler").rule()),
	}
}

func namespaceRoleBindings() []*rbacv1.RoleBinding {
	binding := func(name, roleName string, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: systemNamespace},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: roleName},
			Subjects:   subjects,
		}
	}
	return []*rbacv1.RoleBinding{
		binding("system::extension-apiserver-authentication-reader", "extension-apiserver-authentication-reader",
			userSubject(UserKubeControllerManager), userSubject(UserKubeScheduler)),
		binding("system::leader-locking-kube-controller-manager", "system::leader-locking-kube-controller-manager",
			userSubject(UserKubeControllerManager), serviceAccountSubject(systemNamespace, "kube-controller-manager")),
		binding("system::leader-locking-kube-scheduler", "system::leader-locking-kube-scheduler",
			userSubject(UserKubeScheduler), serviceAccountSubject(systemNamespace, "kube-scheduler")),
	}
}
