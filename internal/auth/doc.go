// Package auth owns who a request is and what it may do: authentication
// (client certificates, static bearer tokens, service-account JWTs) and RBAC
// authorization, with upstream kube-apiserver semantics.
//
// It deliberately does not import k8s.io/apiserver; the user, attribute and
// decision types here are our own, shaped like upstream's so that the API
// server can render the same 401/403 responses clients expect.
//
// Authentication. An [Authenticator] inspects an *http.Request and answers
// (user, ok, err): ok=false with a nil error means "these are not my
// credentials", an error means credentials were presented but are invalid
// (the API server answers 401). The usual chain, mirroring kube-apiserver, is
//
//	authn := auth.NewUnion(
//		auth.NewX509(clientCAPool),
//		auth.NewBearerToken(tokenFile, serviceAccounts),
//	)
//
// [NewUnion] adds the system:authenticated group to every user it
// authenticates. When the union answers ok=false with no error the API
// server may treat the request as [Anonymous].
//
// Authorization. An [Authorizer] answers whether [Attributes] are allowed.
// [NewRBAC] evaluates Roles, ClusterRoles and their bindings exactly as the
// upstream RBAC authorizer does, reading them through the narrow [RBACLister]
// (satisfied by [ListerFromInformers] or [NewPolicyLister]).
// [NewPrivilegedGroups] short-circuits system:masters and [NewUnionAuthorizer]
// chains authorizers. [ForbiddenMessage] renders upstream's 403 text.
//
// Bootstrap policy. [BootstrapPolicy] returns the default ClusterRoles,
// ClusterRoleBindings, Roles and RoleBindings kube-apiserver creates at
// start-up, restricted to what kplane serves, with aggregated roles (admin,
// edit, view) already expanded.
package auth
