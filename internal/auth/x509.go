package auth

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// x509CacheSize bounds the verified-chain cache; when full it is cleared,
// which is cheap and keeps memory bounded without an LRU.
const x509CacheSize = 4096

// X509 authenticates requests by their TLS client certificate: the user name
// is the leaf's Subject CommonName and the groups are its Organizations, as
// upstream's --client-ca-file authenticator.
//
// The TLS listener (tls.VerifyClientCertIfGiven with the same pool) has
// already checked the chain, but the listener's pool and policy may differ
// (for example a front proxy CA), so the chain is verified again here for
// client-auth usage. Successful verifications are cached by chain hash until
// the earliest NotAfter in the chain, so long-lived HTTP/2 connections do not
// pay for a signature check per request.
type X509 struct {
	roots *x509.CertPool
	now   func() time.Time

	mu    sync.Mutex // guards cache
	cache map[[sha256.Size]byte]x509CacheEntry
}

type x509CacheEntry struct {
	user      *User
	notBefore time.Time
	notAfter  time.Time
}

var _ Authenticator = (*X509)(nil)

// NewX509 returns a client-certificate authenticator trusting roots.
func NewX509(roots *x509.CertPool, opts ...Option) *X509 {
	o := buildOptions(opts)
	return &X509{roots: roots, now: o.now, cache: make(map[[sha256.Size]byte]x509CacheEntry)}
}

// Authenticate implements [Authenticator]. Requests without a client
// certificate, and certificates with an empty CommonName, are not
// recognised (ok=false); a certificate that does not verify is an error.
func (a *X509) Authenticate(r *http.Request) (*User, bool, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, false, nil
	}
	certs := r.TLS.PeerCertificates
	now := a.now()

	key := chainKey(certs)
	a.mu.Lock()
	e, hit := a.cache[key]
	a.mu.Unlock()
	if hit && !now.Before(e.notBefore) && now.Before(e.notAfter) {
		if e.user == nil {
			return nil, false, nil
		}
		return e.user.clone(), true, nil
	}

	opts := x509.VerifyOptions{
		Roots:       a.roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if len(certs) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range certs[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	leaf := certs[0]
	if _, err := leaf.Verify(opts); err != nil {
		return nil, false, fmt.Errorf("verifying certificate %s failed: %w", certificateIdentifier(leaf), err)
	}

	var user *User
	if leaf.Subject.CommonName != "" {
		user = &User{Name: leaf.Subject.CommonName, Groups: leaf.Subject.Organization}
	}
	notBefore, notAfter := leaf.NotBefore, leaf.NotAfter
	for _, c := range certs[1:] {
		if c.NotBefore.After(notBefore) {
			notBefore = c.NotBefore
		}
		if c.NotAfter.Before(notAfter) {
			notAfter = c.NotAfter
		}
	}
	a.mu.Lock()
	if len(a.cache) >= x509CacheSize {
		clear(a.cache)
	}
	a.cache[key] = x509CacheEntry{user: user, notBefore: notBefore, notAfter: notAfter}
	a.mu.Unlock()
	if user == nil {
		return nil, false, nil
	}
	return user.clone(), true, nil
}

func chainKey(certs []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	for _, c := range certs {
		h.Write(c.Raw)
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// certificateIdentifier names a certificate in errors the way upstream does:
// serial number, subject key id and authority key id.
func certificateIdentifier(c *x509.Certificate) string {
	var b strings.Builder
	b.WriteString("SN=")
	b.WriteString(c.SerialNumber.String())
	if len(c.SubjectKeyId) > 0 {
		b.WriteString(", SKID=")
		b.WriteString(colonHex(c.SubjectKeyId))
	}
	if len(c.AuthorityKeyId) > 0 {
		b.WriteString(", AKID=")
		b.WriteString(colonHex(c.AuthorityKeyId))
	}
	return b.String()
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i := range b {
		parts[i] = strings.ToUpper(hex.EncodeToString(b[i : i+1]))
	}
	return strings.Join(parts, ":")
}
