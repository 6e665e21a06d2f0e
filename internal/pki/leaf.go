package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"time"
)

// leafSpec describes a certificate Ensure manages.
type leafSpec struct {
	name              string // for logs
	certPath, keyPath string
	commonName        string
	orgs              []string
	usage             x509.ExtKeyUsage
	hosts             []string // SANs, serving certificates only
}

// ensureLeaf returns the PEM of a certificate and key matching spec, loading
// them from disk if they still fit, or issuing and writing new ones.
func (b *Bundle) ensureLeaf(spec leafSpec, log *slog.Logger) (certPEM, keyPEM []byte, err error) {
	certPEM, err = readOptional(spec.certPath)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %w", err)
	}
	keyPEM, err = readOptional(spec.keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %w", err)
	}
	reason := "missing"
	if certPEM != nil && keyPEM != nil {
		if reason = b.unfit(certPEM, keyPEM, spec); reason == "" {
			return certPEM, keyPEM, nil
		}
	}
	certPEM, keyPEM, err = b.issue(spec, LeafValidity)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %s certificate: %w", spec.name, err)
	}
	if err := writeFileAtomic(spec.keyPath, keyPEM, keyMode); err != nil {
		return nil, nil, fmt.Errorf("pki: %w", err)
	}
	if err := writeFileAtomic(spec.certPath, certPEM, certMode); err != nil {
		return nil, nil, fmt.Errorf("pki: %w", err)
	}
	log.Info("generated certificate", "cert", spec.name, "file", spec.certPath, "reason", reason)
	return certPEM, keyPEM, nil
}

// unfit returns why an existing certificate cannot be reused for spec, or
// "" if it can.
func (b *Bundle) unfit(certPEM, keyPEM []byte, spec leafSpec) string {
	cert, err := parseCert(certPEM)
	if err != nil {
		return "unparsable certificate: " + err.Error()
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return "unparsable key: " + err.Error()
	}
	if !keyMatches(cert, key) {
		return "key does not match certificate"
	}
	now := b.clock()
	if now.Add(RenewBefore).After(cert.NotAfter) {
		return "expires at " + cert.NotAfter.Format(time.RFC3339)
	}
	if _, err := cert.Verify(x509.VerifyOptions{
		Roots:       b.CAPool,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{spec.usage},
	}); err != nil {
		return "does not verify against the CA: " + err.Error()
	}
	if cert.Subject.CommonName != spec.commonName || !slices.Equal(cert.Subject.Organization, spec.orgs) {
		return fmt.Sprintf("subject is %q, want CN=%s O=%v", cert.Subject.String(), spec.commonName, spec.orgs)
	}
	for _, h := range spec.hosts {
		if err := cert.VerifyHostname(h); err != nil {
			return "does not cover host " + h
		}
	}
	return ""
}

// issue creates a fresh key and a certificate for spec signed by the CA,
// valid for dur from now but never past the CA's own expiry.
func (b *Bundle) issue(spec leafSpec, dur time.Duration) (certPEM, keyPEM []byte, err error) {
	if b.CACert == nil || b.CAKey == nil {
		return nil, nil, errors.New("bundle has no CA")
	}
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	now := b.clock()
	notAfter := now.Add(dur)
	if notAfter.After(b.CACert.NotAfter) {
		notAfter = b.CACert.NotAfter
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: spec.commonName, Organization: spec.orgs},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{spec.usage},
		BasicConstraintsValid: true,
	}
	for _, h := range spec.hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	_, certPEM, err = sign(tmpl, b.CACert, key.Public(), b.CAKey)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, nil
}

// IssueClientCert issues a client certificate signed by ca's CA, for the
// user commonName in groups orgs (the x509 authenticator maps CN to the user
// name and O to groups). dur 0 means LeafValidity. Nothing is written to
// disk; tests use it to make users such as alice in group devs.
func IssueClientCert(ca *Bundle, commonName string, orgs []string, dur time.Duration) (certPEM, keyPEM []byte, err error) {
	if ca == nil {
		return nil, nil, errors.New("pki: IssueClientCert: nil bundle")
	}
	if commonName == "" {
		return nil, nil, errors.New("pki: IssueClientCert: empty common name")
	}
	if dur < 0 {
		return nil, nil, fmt.Errorf("pki: IssueClientCert: negative duration %s", dur)
	}
	if dur == 0 {
		dur = LeafValidity
	}
	spec := leafSpec{name: "client " + commonName, commonName: commonName, orgs: slices.Clone(orgs), usage: x509.ExtKeyUsageClientAuth}
	certPEM, keyPEM, err = ca.issue(spec, dur)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: IssueClientCert %q: %w", commonName, err)
	}
	return certPEM, keyPEM, nil
}
