package pki

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File names Ensure reads and writes inside Config.Dir.
const (
	CACertFile       = "ca.crt"
	CAKeyFile        = "ca.key"
	ServingCertFile  = "apiserver.crt"
	ServingKeyFile   = "apiserver.key"
	AdminCertFile    = "admin.crt"
	AdminKeyFile     = "admin.key"
	SAPrivateKeyFile = "sa.key"
	SAPublicKeyFile  = "sa.pub"
)

// Identities baked into the generated certificates.
const (
	// CACommonName is the subject CN of the self-signed cluster CA.
	CACommonName = "kplane-ca"
	// ServingCommonName is the subject CN of the API server certificate,
	// as kubeadm names it.
	ServingCommonName = "kube-apiserver"
	// AdminCommonName and AdminGroup make the admin certificate a member
	// of system:masters, which RBAC lets do anything (as kubeadm's
	// admin.conf).
	AdminCommonName = "kubernetes-admin"
	AdminGroup      = "system:masters"
)

// Validity periods and the renewal margin for leaves.
const (
	CAValidity   = 10 * 365 * 24 * time.Hour
	LeafValidity = 365 * 24 * time.Hour
	// RenewBefore is how close to expiry a leaf may get before Ensure
	// replaces it, so a long-running `kplane up` does not start with a
	// certificate that lapses hours later.
	RenewBefore = 24 * time.Hour
)

// ErrInvalidCA is wrapped by Ensure when ca.crt/ca.key exist but cannot be
// used (one is missing, unparsable, mismatched, not a CA, or expired). Ensure
// never replaces a CA on its own because that would invalidate every
// kubeconfig issued from it; remove both files to start over.
var ErrInvalidCA = errors.New("pki: existing CA is unusable")

// DefaultHosts returns the names and IPs every serving certificate covers:
// loopback, the in-cluster names of the kubernetes Service, and its
// ClusterIP (the first address of the default 10.96.0.0/12 service range).
func DefaultHosts() []string {
	return []string{
		"localhost", "127.0.0.1", "::1",
		"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
		"10.96.0.1",
	}
}

// Config says where the PKI lives and what the serving certificate covers.
type Config struct {
	// Dir holds all files; created with mode 0700 if missing. Required.
	// kplane uses <data-dir>/pki.
	Dir string
	// Hosts are extra DNS names and IP addresses for the serving
	// certificate, added to DefaultHosts(). IPv6 literals may be bracketed.
	Hosts []string
	// Now is the clock used for validity checks and NotBefore/NotAfter.
	// Default time.Now.
	Now func() time.Time
	// Logger records which files were generated and why. Default
	// slog.Default().
	Logger *slog.Logger
}

// Paths are the absolute locations of every file in a Bundle, for flags such
// as --client-ca-file or --service-account-key-file.
type Paths struct {
	CACert, CAKey             string
	ServingCert, ServingKey   string
	AdminCert, AdminKey       string
	SAPrivateKey, SAPublicKey string
}

// Bundle is the loaded PKI: everything a TLS server with client-certificate
// auth and a service-account token signer needs.
type Bundle struct {
	Dir   string
	Paths Paths

	// CACert and CAKey sign client certificates (IssueClientCert).
	CACert *x509.Certificate
	CAKey  crypto.Signer
	// CAPool holds only CACert; use it to verify client certificates and
	// as RootCAs for in-process clients.
	CAPool *x509.CertPool
	// CAPEM is ca.crt's content, for kubeconfig certificate-authority-data.
	CAPEM []byte

	// ServingCert is the API server's certificate and key; its Leaf is set.
	ServingCert tls.Certificate
	// Hosts is what ServingCert was required to cover (defaults plus
	// Config.Hosts, normalised and deduplicated).
	Hosts []string

	// AdminCertPEM and AdminKeyPEM are the system:masters client identity
	// written into the admin kubeconfig.
	AdminCertPEM, AdminKeyPEM []byte

	// ServiceAccountKey signs service-account JWTs; ServiceAccountPublicKey
	// verifies them.
	ServiceAccountKey       crypto.Signer
	ServiceAccountPublicKey crypto.PublicKey

	now func() time.Time
}

// clock returns the current time from Config.Now, or time.Now for a Bundle
// built by hand.
func (b *Bundle) clock() time.Time {
	if b.now == nil {
		return time.Now()
	}
	return b.now()
}

// ServerTLSConfig returns a TLS config for the API server. Like
// kube-apiserver it only requests (does not require or verify) a client
// certificate at the TLS layer: verification against CAPool happens in the
// authenticator, so a bad certificate yields an HTTP 401 rather than a
// handshake failure, and token-only clients still connect. ClientCAs is set
// so clients are told which CA to pick a certificate for.
func (b *Bundle) ServerTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{b.ServingCert},
		ClientAuth:   tls.RequestClientCert,
		ClientCAs:    b.CAPool,
		NextProtos:   []string{"h2", "http/1.1"},
	}
}

// Ensure loads the PKI in cfg.Dir, generating whatever is missing, and
// replacing a leaf that is expired (or within RenewBefore of it), not signed
// by the CA, mismatched with its key, or — for the serving certificate —
// missing one of the requested hosts. The CA and service-account key are
// generated only when absent, never replaced.
func Ensure(cfg Config) (*Bundle, error) {
	if cfg.Dir == "" {
		return nil, errors.New("pki: Dir is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	hosts, err := normalizeHosts(append(DefaultHosts(), cfg.Hosts...))
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("pki: create dir: %w", err)
	}
	b := &Bundle{
		Dir:   dir,
		Hosts: hosts,
		now:   cfg.Now,
		Paths: Paths{
			CACert:       filepath.Join(dir, CACertFile),
			CAKey:        filepath.Join(dir, CAKeyFile),
			ServingCert:  filepath.Join(dir, ServingCertFile),
			ServingKey:   filepath.Join(dir, ServingKeyFile),
			AdminCert:    filepath.Join(dir, AdminCertFile),
			AdminKey:     filepath.Join(dir, AdminKeyFile),
			SAPrivateKey: filepath.Join(dir, SAPrivateKeyFile),
			SAPublicKey:  filepath.Join(dir, SAPublicKeyFile),
		},
	}
	log := cfg.Logger.With("component", "pki", "dir", dir)

	if err := b.ensureCA(log); err != nil {
		return nil, err
	}
	serving := leafSpec{
		name:       "serving",
		certPath:   b.Paths.ServingCert,
		keyPath:    b.Paths.ServingKey,
		commonName: ServingCommonName,
		usage:      x509.ExtKeyUsageServerAuth,
		hosts:      hosts,
	}
	certPEM, keyPEM, err := b.ensureLeaf(serving, log)
	if err != nil {
		return nil, err
	}
	if b.ServingCert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return nil, fmt.Errorf("pki: load serving key pair: %w", err)
	}
	admin := leafSpec{
		name:       "admin",
		certPath:   b.Paths.AdminCert,
		keyPath:    b.Paths.AdminKey,
		commonName: AdminCommonName,
		orgs:       []string{AdminGroup},
		usage:      x509.ExtKeyUsageClientAuth,
	}
	if b.AdminCertPEM, b.AdminKeyPEM, err = b.ensureLeaf(admin, log); err != nil {
		return nil, err
	}
	if err := b.ensureServiceAccountKey(log); err != nil {
		return nil, err
	}
	return b, nil
}

// ensureCA loads ca.crt/ca.key, or generates both if neither exists.
func (b *Bundle) ensureCA(log *slog.Logger) error {
	certPEM, err := readOptional(b.Paths.CACert)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	keyPEM, err := readOptional(b.Paths.CAKey)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	switch {
	case certPEM == nil && keyPEM == nil:
		if err := b.generateCA(); err != nil {
			return err
		}
		log.Info("generated cluster CA", "file", b.Paths.CACert, "notAfter", b.CACert.NotAfter)
	case certPEM == nil || keyPEM == nil:
		return fmt.Errorf("%w: only one of %s and %s exists", ErrInvalidCA, CACertFile, CAKeyFile)
	default:
		if err := b.loadCA(certPEM, keyPEM); err != nil {
			return err
		}
	}
	b.CAPool = x509.NewCertPool()
	b.CAPool.AddCert(b.CACert)
	return nil
}

func (b *Bundle) loadCA(certPEM, keyPEM []byte) error {
	cert, err := parseCert(certPEM)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidCA, CACertFile, err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidCA, CAKeyFile, err)
	}
	now := b.clock()
	switch {
	case !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0:
		return fmt.Errorf("%w: %s is not a CA certificate", ErrInvalidCA, CACertFile)
	case !keyMatches(cert, key):
		return fmt.Errorf("%w: %s does not match %s", ErrInvalidCA, CAKeyFile, CACertFile)
	case now.After(cert.NotAfter):
		return fmt.Errorf("%w: %s expired at %s; remove %s and %s to generate a new CA", ErrInvalidCA,
			CACertFile, cert.NotAfter.Format(time.RFC3339), CACertFile, CAKeyFile)
	}
	b.CACert, b.CAKey, b.CAPEM = cert, key, certPEM
	return nil
}

func (b *Bundle) generateCA() error {
	key, err := newKey()
	if err != nil {
		return fmt.Errorf("pki: CA: %w", err)
	}
	now := b.clock()
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: CACommonName},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // leaves only, no intermediates
	}
	cert, certPEM, err := sign(tmpl, tmpl, key.Public(), key)
	if err != nil {
		return fmt.Errorf("pki: CA: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return fmt.Errorf("pki: CA: %w", err)
	}
	// Key first: a crash between the writes leaves a key without a cert,
	// which the next Ensure reports instead of silently signing with a
	// different key.
	if err := writeFileAtomic(b.Paths.CAKey, keyPEM, keyMode); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := writeFileAtomic(b.Paths.CACert, certPEM, certMode); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	b.CACert, b.CAKey, b.CAPEM = cert, key, certPEM
	return nil
}

// ensureServiceAccountKey loads sa.key (generating it if absent) and keeps
// sa.pub in step with it.
func (b *Bundle) ensureServiceAccountKey(log *slog.Logger) error {
	keyPEM, err := readOptional(b.Paths.SAPrivateKey)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	var key crypto.Signer
	if keyPEM == nil {
		k, err := newKey()
		if err != nil {
			return fmt.Errorf("pki: service-account key: %w", err)
		}
		if keyPEM, err = encodeKey(k); err != nil {
			return fmt.Errorf("pki: service-account key: %w", err)
		}
		if err := writeFileAtomic(b.Paths.SAPrivateKey, keyPEM, keyMode); err != nil {
			return fmt.Errorf("pki: %w", err)
		}
		log.Info("generated service-account signing key", "file", b.Paths.SAPrivateKey)
		key = k
	} else if key, err = parseKey(keyPEM); err != nil {
		// Replacing it would invalidate every issued token; refuse.
		return fmt.Errorf("pki: %s: %w", SAPrivateKeyFile, err)
	}

	pubPEM, err := readOptional(b.Paths.SAPublicKey)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	pub, err := parsePublicKey(pubPEM)
	if err != nil || !publicKeysEqual(key.Public(), pub) {
		if pubPEM, err = encodePublicKey(key.Public()); err != nil {
			return fmt.Errorf("pki: service-account public key: %w", err)
		}
		if err := writeFileAtomic(b.Paths.SAPublicKey, pubPEM, certMode); err != nil {
			return fmt.Errorf("pki: %w", err)
		}
	}
	b.ServiceAccountKey, b.ServiceAccountPublicKey = key, key.Public()
	return nil
}

// normalizeHosts validates and deduplicates SAN entries, keeping order.
// IPs are canonicalised ("::0001" → "::1") so duplicates are caught.
func normalizeHosts(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	var bad []string
	for _, h := range in {
		h = strings.TrimSpace(h)
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if ip := net.ParseIP(h); ip != nil {
			h = ip.String()
		} else if !validDNSName(h) {
			bad = append(bad, fmt.Sprintf("%q", h))
			continue
		} else {
			h = strings.ToLower(h)
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("pki: invalid hosts (want DNS names or IP addresses): %s", strings.Join(bad, ", "))
	}
	return out, nil
}

// validDNSName accepts RFC 1123 host names, with an optional leading "*."
// wildcard label.
func validDNSName(s string) bool {
	s = strings.TrimPrefix(s, "*.")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
