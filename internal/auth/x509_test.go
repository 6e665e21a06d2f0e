package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// testCA is a throwaway certificate authority for tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var testSerial = big.NewInt(100)

func nextSerial() *big.Int {
	testSerial = new(big.Int).Add(testSerial, big.NewInt(1))
	return testSerial
}

func newTestCA(t testing.TB, cn string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// issue signs a leaf certificate for subject with the given usages.
func (ca *testCA) issue(t testing.TB, subject pkix.Name, usages []x509.ExtKeyUsage, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      subject,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  usages,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestX509(t *testing.T) {
	ca := newTestCA(t, "kplane-ca")
	other := newTestCA(t, "other-ca")
	clientAuth := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	day := time.Now().Add(24 * time.Hour)

	// DER sorts the values of a multi-valued RDN, so the groups come back sorted.
	admin := ca.issue(t, pkix.Name{CommonName: "kubernetes-admin", Organization: []string{"system:masters", "ops"}}, clientAuth, day)

	tests := []struct {
		name       string
		certs      []*x509.Certificate
		noTLS      bool
		wantOK     bool
		wantErr    bool
		wantUser   string
		wantGroups []string
	}{
		{name: "valid client cert", certs: []*x509.Certificate{admin}, wantOK: true, wantUser: "kubernetes-admin", wantGroups: []string{"ops", "system:masters"}},
		{name: "cached second use", certs: []*x509.Certificate{admin}, wantOK: true, wantUser: "kubernetes-admin", wantGroups: []string{"ops", "system:masters"}},
		{name: "no TLS", noTLS: true},
		{name: "TLS without client cert"},
		{name: "cert from another CA", certs: []*x509.Certificate{other.issue(t, pkix.Name{CommonName: "mallory"}, clientAuth, day)}, wantErr: true},
		{name: "server-only usage", certs: []*x509.Certificate{ca.issue(t, pkix.Name{CommonName: "server"}, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, day)}, wantErr: true},
		{name: "expired", certs: []*x509.Certificate{ca.issue(t, pkix.Name{CommonName: "old"}, clientAuth, time.Now().Add(-time.Minute))}, wantErr: true},
		{name: "empty common name is not recognised", certs: []*x509.Certificate{ca.issue(t, pkix.Name{Organization: []string{"g"}}, clientAuth, day)}},
	}
	authn := NewX509(ca.pool())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "https://kplane/api", nil)
			if tt.noTLS {
				r.TLS = nil
			} else {
				r.TLS = &tls.ConnectionState{PeerCertificates: tt.certs}
			}
			u, ok, err := authn.Authenticate(r)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if u.Name != tt.wantUser || !slices.Equal(u.Groups, tt.wantGroups) {
				t.Errorf("user = %q %q, want %q %q", u.Name, u.Groups, tt.wantUser, tt.wantGroups)
			}
			// Callers may modify what they get without poisoning the cache.
			u.Groups[0] = "mutated"
		})
	}
}

func TestX509CacheHonoursExpiry(t *testing.T) {
	ca := newTestCA(t, "kplane-ca")
	notAfter := time.Now().Add(time.Hour)
	cert := ca.issue(t, pkix.Name{CommonName: "alice"}, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, notAfter)
	now := time.Now()
	authn := NewX509(ca.pool(), WithClock(func() time.Time { return now }))
	r := httptest.NewRequest("GET", "https://kplane/api", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
	if _, ok, err := authn.Authenticate(r); !ok || err != nil {
		t.Fatalf("first use: ok=%v err=%v", ok, err)
	}
	now = notAfter.Add(time.Second)
	_, ok, err := authn.Authenticate(r)
	var invalid x509.CertificateInvalidError
	if ok || !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Fatalf("after expiry: ok=%v err=%v, want an Expired certificate error", ok, err)
	}
}
