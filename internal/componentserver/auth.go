package componentserver

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// user is an authenticated identity.
type user struct {
	name, uid string
	groups    []string
	extra     map[string]authorizationv1.ExtraValue
}

// Upstream's anonymous identity.
const (
	anonymousUser          = "system:anonymous"
	unauthenticatedGroup   = "system:unauthenticated"
	authenticatedGroup     = "system:authenticated"
	maxCachedAuthDecisions = 4096
)

// errUnauthorized means credentials were presented and rejected (401).
var errUnauthorized = errors.New("unauthorized")

// delegated authenticates and authorizes requests through the API server.
type delegated struct {
	client kubernetes.Interface
	// roots verifies client certificates (nil: certificates are ignored).
	roots *x509.CertPool
	ttl   time.Duration
	now   func() time.Time

	mu     sync.Mutex // guards tokens and access
	tokens map[[32]byte]cachedUser
	access map[string]cachedDecision
}

type cachedUser struct {
	u       *user
	err     error
	expires time.Time
}

type cachedDecision struct {
	allowed bool
	reason  string
	expires time.Time
}

// clusterCA loads the CA that signed the API server's client
// certificates: the kubeconfig's certificate authority.
func clusterCA(rc *rest.Config) (*x509.CertPool, error) {
	data := rc.TLSClientConfig.CAData
	if len(data) == 0 && rc.TLSClientConfig.CAFile != "" {
		b, err := os.ReadFile(rc.TLSClientConfig.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read cluster CA: %w", err)
		}
		data = b
	}
	if len(data) == 0 {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, errors.New("cluster CA: no certificates found")
	}
	return pool, nil
}

// authenticate returns the request's user: from a verified client
// certificate, else a bearer token checked by TokenReview, else the
// anonymous user. Rejected credentials are errUnauthorized.
func (d *delegated) authenticate(r *http.Request) (*user, error) {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && d.roots != nil {
		certs := r.TLS.PeerCertificates
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		if _, err := certs[0].Verify(x509.VerifyOptions{Roots: d.roots, Intermediates: inter,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: d.now()}); err != nil {
			return nil, fmt.Errorf("%w: client certificate: %w", errUnauthorized, err)
		}
		groups := append([]string(nil), certs[0].Subject.Organization...)
		return &user{name: certs[0].Subject.CommonName, groups: append(groups, authenticatedGroup)}, nil
	}
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			return nil, fmt.Errorf("%w: malformed Authorization header", errUnauthorized)
		}
		return d.reviewToken(r.Context(), strings.TrimSpace(token))
	}
	return &user{name: anonymousUser, groups: []string{unauthenticatedGroup}}, nil
}

func (d *delegated) reviewToken(ctx context.Context, token string) (*user, error) {
	key := sha256.Sum256([]byte(token))
	now := d.now()
	d.mu.Lock()
	if c, ok := d.tokens[key]; ok && now.Before(c.expires) {
		d.mu.Unlock()
		return c.u, c.err
	}
	d.mu.Unlock()
	tr, err := d.client.AuthenticationV1().TokenReviews().Create(ctx,
		&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		// Not cached: the API server may be back on the next request.
		return nil, fmt.Errorf("%w: token review: %w", errUnauthorized, err)
	}
	var (
		u    *user
		uerr error
	)
	if tr.Status.Authenticated {
		ui := tr.Status.User
		u = &user{name: ui.Username, uid: ui.UID, groups: ui.Groups, extra: map[string]authorizationv1.ExtraValue{}}
		for k, v := range ui.Extra {
			u.extra[k] = authorizationv1.ExtraValue(v)
		}
	} else {
		uerr = fmt.Errorf("%w: token not authenticated: %s", errUnauthorized, tr.Status.Error)
	}
	d.mu.Lock()
	if len(d.tokens) >= maxCachedAuthDecisions {
		clear(d.tokens)
	}
	d.tokens[key] = cachedUser{u: u, err: uerr, expires: now.Add(d.ttl)}
	d.mu.Unlock()
	return u, uerr
}

// authorize asks the API server whether u may perform verb on the
// non-resource path.
func (d *delegated) authorize(ctx context.Context, u *user, verb, path string) (bool, string, error) {
	groups := append([]string(nil), u.groups...)
	sort.Strings(groups)
	key := u.name + "\x00" + u.uid + "\x00" + strings.Join(groups, ",") + "\x00" + verb + "\x00" + path
	now := d.now()
	d.mu.Lock()
	if c, ok := d.access[key]; ok && now.Before(c.expires) {
		d.mu.Unlock()
		return c.allowed, c.reason, nil
	}
	d.mu.Unlock()
	sar, err := d.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: u.name, UID: u.uid, Groups: u.groups, Extra: u.extra,
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: verb},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, "", fmt.Errorf("subject access review: %w", err)
	}
	d.mu.Lock()
	if len(d.access) >= maxCachedAuthDecisions {
		clear(d.access)
	}
	d.access[key] = cachedDecision{allowed: sar.Status.Allowed, reason: sar.Status.Reason, expires: now.Add(d.ttl)}
	d.mu.Unlock()
	return sar.Status.Allowed, sar.Status.Reason, nil
}
