package manager

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// tokenLifetime of a controller's service-account token; it is renewed
// when 80% of it has passed.
const tokenLifetime = time.Hour

// saConfig returns a client config that authenticates as service account
// kube-system/<sa>, creating the account if needed and renewing its token
// through the TokenRequest API with the root client.
func saConfig(ctx context.Context, root kubernetes.Interface, base *rest.Config, ns, sa string) (*rest.Config, error) {
	_, err := root.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("service account %s/%s: %w", ns, sa, err)
	}
	src := &tokenSource{root: root, ns: ns, sa: sa}
	if _, err := src.token(ctx); err != nil {
		return nil, err
	}
	cfg := rest.AnonymousClientConfig(base)
	cfg.QPS, cfg.Burst = base.QPS, base.Burst
	cfg.UserAgent = "kplane-controller-manager/" + sa
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return &bearer{src: src, next: rt} }
	return cfg, nil
}

// tokenSource caches one service account's token.
type tokenSource struct {
	root   kubernetes.Interface
	ns, sa string

	mu      sync.Mutex // guards tok and renewAt
	tok     string
	renewAt time.Time
}

func (s *tokenSource) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != "" && time.Now().Before(s.renewAt) {
		return s.tok, nil
	}
	exp := int64(tokenLifetime / time.Second)
	tr, err := s.root.CoreV1().ServiceAccounts(s.ns).CreateToken(ctx, s.sa,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		if s.tok != "" {
			return s.tok, nil // keep using the old token until it expires
		}
		return "", fmt.Errorf("token for %s/%s: %w", s.ns, s.sa, err)
	}
	s.tok = tr.Status.Token
	s.renewAt = time.Now().Add(tokenLifetime * 8 / 10)
	return s.tok, nil
}

// bearer adds the current token to every request.
type bearer struct {
	src  *tokenSource
	next http.RoundTripper
}

func (b *bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := b.src.token(req.Context())
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return b.next.RoundTrip(r)
}
