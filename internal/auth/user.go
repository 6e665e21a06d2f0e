package auth

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Well-known user and group names. They are part of the Kubernetes API
// contract: default RBAC bindings and clients (kubeadm, kubectl) refer to them
// by these exact strings.
const (
	// GroupMasters is the break-glass group: members are allowed everything
	// by the privileged-groups authorizer, even when RBAC objects are broken.
	GroupMasters = "system:masters"
	// GroupAuthenticated is added to every successfully authenticated user.
	GroupAuthenticated = "system:authenticated"
	// GroupUnauthenticated is the only group of the anonymous user.
	GroupUnauthenticated = "system:unauthenticated"
	// UserAnonymous is the name given to requests without credentials.
	UserAnonymous = "system:anonymous"
	// GroupServiceAccounts contains every service account.
	GroupServiceAccounts = "system:serviceaccounts"
	// GroupServiceAccountsPrefix prefixes the per-namespace service account
	// group, see [ServiceAccountGroup].
	GroupServiceAccountsPrefix = "system:serviceaccounts:"
	// ServiceAccountUsernamePrefix prefixes service account user names, see
	// [ServiceAccountUsername].
	ServiceAccountUsernamePrefix = "system:serviceaccount:"
	// UserKubeScheduler is the identity the scheduler authenticates as.
	UserKubeScheduler = "system:kube-scheduler"
	// UserKubeControllerManager is the identity the controller manager
	// authenticates as.
	UserKubeControllerManager = "system:kube-controller-manager"
	// UserKubeProxy is the identity kube-proxy authenticates as.
	UserKubeProxy = "system:kube-proxy"
	// UserAPIServer is the identity the API server uses for loopback calls.
	UserAPIServer = "system:apiserver"
	// GroupNodes contains kubelets (and kplane's hollow nodes).
	GroupNodes = "system:nodes"
	// NodeUsernamePrefix prefixes kubelet user names: system:node:<node>.
	NodeUsernamePrefix = "system:node:"
	// GroupMonitoring may read health and metrics endpoints.
	GroupMonitoring = "system:monitoring"
)

// Keys of User.Extra set by the service-account authenticator, as upstream,
// so audit logs and admission can tell which pod or node a token was bound to.
const (
	ExtraPodName      = "authentication.kubernetes.io/pod-name"
	ExtraPodUID       = "authentication.kubernetes.io/pod-uid"
	ExtraNodeName     = "authentication.kubernetes.io/node-name"
	ExtraNodeUID      = "authentication.kubernetes.io/node-uid"
	ExtraCredentialID = "authentication.kubernetes.io/credential-id"
)

// User is an authenticated identity. It mirrors upstream's user.Info so that
// RBAC subjects, impersonation and SubjectAccessReview map onto it directly.
type User struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

// InGroup reports whether u is a member of group.
func (u *User) InGroup(group string) bool {
	return u != nil && slices.Contains(u.Groups, group)
}

// clone returns a copy whose slices and map can be changed without touching
// u; authenticators hand out clones so that shared, cached users (static
// tokens, certificate cache) are never mutated by callers.
func (u *User) clone() *User {
	c := &User{Name: u.Name, UID: u.UID, Groups: slices.Clone(u.Groups)}
	if u.Extra != nil {
		c.Extra = make(map[string][]string, len(u.Extra))
		for k, v := range u.Extra {
			c.Extra[k] = slices.Clone(v)
		}
	}
	return c
}

// Anonymous returns the user the API server assigns to requests that carry
// no credentials, when anonymous access is enabled.
func Anonymous() *User {
	return &User{Name: UserAnonymous, Groups: []string{GroupUnauthenticated}}
}

// ServiceAccountUsername returns system:serviceaccount:<namespace>:<name>.
func ServiceAccountUsername(namespace, name string) string {
	return ServiceAccountUsernamePrefix + namespace + ":" + name
}

// ServiceAccountGroup returns system:serviceaccounts:<namespace>.
func ServiceAccountGroup(namespace string) string {
	return GroupServiceAccountsPrefix + namespace
}

// SplitServiceAccountUsername parses system:serviceaccount:<ns>:<name>,
// returning ok=false for any other user name.
func SplitServiceAccountUsername(username string) (namespace, name string, ok bool) {
	rest, found := strings.CutPrefix(username, ServiceAccountUsernamePrefix)
	if !found {
		return "", "", false
	}
	namespace, name, found = strings.Cut(rest, ":")
	if !found || namespace == "" || name == "" || strings.Contains(name, ":") {
		return "", "", false
	}
	return namespace, name, true
}

// matchesServiceAccount reports whether username is the service account
// namespace/name, without building the user name (it runs for every
// ServiceAccount subject of every binding on every request).
func matchesServiceAccount(namespace, name, username string) bool {
	rest, ok := strings.CutPrefix(username, ServiceAccountUsernamePrefix)
	if !ok || len(rest) != len(namespace)+1+len(name) {
		return false
	}
	return rest[:len(namespace)] == namespace && rest[len(namespace)] == ':' && rest[len(namespace)+1:] == name
}

// Authenticator identifies the user behind a request.
//
// ok=false with a nil error means the authenticator does not recognise the
// request's credentials (or there are none) and the next one should be
// tried; a non-nil error means credentials were presented but are invalid,
// which the API server answers with 401 Unauthorized.
type Authenticator interface {
	Authenticate(r *http.Request) (user *User, ok bool, err error)
}

// AuthenticatorFunc adapts a function to [Authenticator].
type AuthenticatorFunc func(r *http.Request) (*User, bool, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (*User, bool, error) { return f(r) }

// Option customises an authenticator or token issuer.
type Option func(*options)

type options struct {
	now    func() time.Time
	logger *slog.Logger
}

func buildOptions(opts []Option) options {
	o := options{now: time.Now, logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithClock replaces time.Now, so tests can check expiry deterministically.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithLogger sets the logger used for warnings (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}
