package pki

import (
	"bytes"
	"crypto/x509"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var allFiles = []string{
	CACertFile, CAKeyFile, ServingCertFile, ServingKeyFile,
	AdminCertFile, AdminKeyFile, SAPrivateKeyFile, SAPublicKeyFile,
}

// fixedClock returns a Now func pinned to t.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func ensure(t *testing.T, cfg Config) *Bundle {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = fixedClock(epoch)
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	b, err := Ensure(cfg)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return b
}

// snapshot reads every PKI file in dir.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range allFiles {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		out[f] = b
	}
	return out
}

// changed lists the files whose content differs between two snapshots.
func changed(a, b map[string][]byte) []string {
	var out []string
	for _, f := range allFiles {
		if !bytes.Equal(a[f], b[f]) {
			out = append(out, f)
		}
	}
	return out
}

func TestEnsureIsIdempotent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	first := ensure(t, Config{Dir: dir, Hosts: []string{"kplane.example"}})
	before := snapshot(t, dir)
	second := ensure(t, Config{Dir: dir, Hosts: []string{"kplane.example"}, Now: fixedClock(epoch.Add(30 * 24 * time.Hour))})
	if diff := changed(before, snapshot(t, dir)); len(diff) != 0 {
		t.Fatalf("second Ensure rewrote %v, want nothing", diff)
	}
	if !first.CACert.Equal(second.CACert) {
		t.Error("second Ensure loaded a different CA")
	}
	if !publicKeysEqual(first.ServiceAccountPublicKey, second.ServiceAccountPublicKey) {
		t.Error("second Ensure loaded a different service-account key")
	}
	if !bytes.Equal(first.ServingCert.Certificate[0], second.ServingCert.Certificate[0]) {
		t.Error("second Ensure loaded a different serving certificate")
	}
}

func TestEnsurePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	ensure(t, Config{Dir: dir})
	tests := []struct {
		name string
		want fs.FileMode
	}{
		{".", 0o700},
		{CACertFile, 0o644},
		{CAKeyFile, 0o600},
		{ServingCertFile, 0o644},
		{ServingKeyFile, 0o600},
		{AdminCertFile, 0o644},
		{AdminKeyFile, 0o600},
		{SAPrivateKeyFile, 0o600},
		{SAPublicKeyFile, 0o644},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fi, err := os.Stat(filepath.Join(dir, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tc.want {
				t.Errorf("mode %v, want %v", got, tc.want)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(allFiles) {
		t.Errorf("dir has %d entries, want exactly the %d PKI files (no temp leftovers)", len(entries), len(allFiles))
	}
}

func TestCertificatesVerify(t *testing.T) {
	extra := []string{"kplane.example", "192.168.1.5", "[fd00::10]"}
	b := ensure(t, Config{Dir: t.TempDir(), Hosts: extra})
	serving := b.ServingCert.Leaf
	admin, err := parseCert(b.AdminCertPEM)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(c *x509.Certificate, usage x509.ExtKeyUsage, host string) error {
		_, err := c.Verify(x509.VerifyOptions{Roots: b.CAPool, CurrentTime: epoch, KeyUsages: []x509.ExtKeyUsage{usage}, DNSName: host})
		return err
	}
	for _, h := range append(DefaultHosts(), "kplane.example", "192.168.1.5", "fd00::10") {
		t.Run("serving covers "+h, func(t *testing.T) {
			if err := verify(serving, x509.ExtKeyUsageServerAuth, h); err != nil {
				t.Error(err)
			}
		})
	}
	tests := []struct {
		name    string
		cert    *x509.Certificate
		usage   x509.ExtKeyUsage
		host    string
		wantErr bool
	}{
		{"serving does not cover other hosts", serving, x509.ExtKeyUsageServerAuth, "evil.example", true},
		{"serving is not a client cert", serving, x509.ExtKeyUsageClientAuth, "", true},
		{"admin is a client cert", admin, x509.ExtKeyUsageClientAuth, "", false},
		{"admin is not a serving cert", admin, x509.ExtKeyUsageServerAuth, "", true},
		{"CA is a CA", b.CACert, x509.ExtKeyUsageAny, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := verify(tc.cert, tc.usage, tc.host); (err != nil) != tc.wantErr {
				t.Errorf("verify error = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
	if admin.Subject.CommonName != AdminCommonName || !slices.Equal(admin.Subject.Organization, []string{AdminGroup}) {
		t.Errorf("admin subject %q, want CN=%s O=%s", admin.Subject, AdminCommonName, AdminGroup)
	}
	if !b.CACert.IsCA || b.CACert.NotAfter.Sub(epoch) < CAValidity-time.Hour {
		t.Errorf("CA IsCA=%v NotAfter=%v, want a CA valid ~10y", b.CACert.IsCA, b.CACert.NotAfter)
	}
	if got := serving.NotAfter.Sub(epoch); got < LeafValidity-time.Hour || got > LeafValidity {
		t.Errorf("serving cert valid for %v, want ~1y", got)
	}
}

func TestEnsureRegenerates(t *testing.T) {
	tests := []struct {
		name        string
		mutate      func(t *testing.T, dir string) // before the second Ensure
		hosts       []string
		later       time.Duration
		wantChanged []string
	}{
		{
			name:        "new host",
			hosts:       []string{"new.example"},
			wantChanged: []string{ServingCertFile, ServingKeyFile},
		},
		{
			name:        "host already covered",
			hosts:       []string{"LOCALHOST", "::0001"},
			wantChanged: nil,
		},
		{
			name:        "leaves near expiry",
			later:       LeafValidity - RenewBefore/2,
			wantChanged: []string{ServingCertFile, ServingKeyFile, AdminCertFile, AdminKeyFile},
		},
		{
			name:        "serving cert deleted",
			mutate:      remove(ServingCertFile),
			wantChanged: []string{ServingCertFile, ServingKeyFile},
		},
		{
			name:        "admin cert corrupt",
			mutate:      overwrite(AdminCertFile, []byte("garbage")),
			wantChanged: []string{AdminCertFile, AdminKeyFile},
		},
		{
			name:        "admin key from another pair",
			mutate:      copyFile(ServingKeyFile, AdminKeyFile),
			wantChanged: []string{AdminCertFile, AdminKeyFile},
		},
		{
			name:        "sa.pub deleted",
			mutate:      remove(SAPublicKeyFile),
			wantChanged: nil, // rewritten with identical content
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			first := ensure(t, Config{Dir: dir})
			before := snapshot(t, dir)
			if tc.mutate != nil {
				tc.mutate(t, dir)
				before = mergeSnapshot(t, dir, before)
			}
			second := ensure(t, Config{Dir: dir, Hosts: tc.hosts, Now: fixedClock(epoch.Add(tc.later))})
			if got := changed(before, snapshot(t, dir)); !slices.Equal(got, tc.wantChanged) {
				t.Errorf("changed files %v, want %v", got, tc.wantChanged)
			}
			if !first.CACert.Equal(second.CACert) {
				t.Error("CA was replaced")
			}
			if err := second.ServingCert.Leaf.VerifyHostname("localhost"); err != nil {
				t.Error(err)
			}
			for _, h := range tc.hosts {
				if err := second.ServingCert.Leaf.VerifyHostname(h); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// mergeSnapshot is snapshot, except files the mutation removed keep their
// original content, so a byte-identical rewrite does not count as a change.
func mergeSnapshot(t *testing.T, dir string, orig map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for _, f := range allFiles {
		b, err := os.ReadFile(filepath.Join(dir, f))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			out[f] = orig[f]
		case err != nil:
			t.Fatal(err)
		default:
			out[f] = b
		}
	}
	return out
}

func remove(name string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

func overwrite(name string, data []byte) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(from, to string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		b, err := os.ReadFile(filepath.Join(dir, from))
		if err != nil {
			t.Fatal(err)
		}
		overwrite(to, b)(t, dir)
	}
}

func TestEnsureRefusesToReplaceIdentity(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(*testing.T, string)
		later     time.Duration
		wantCAErr bool
	}{
		{"CA key missing", remove(CAKeyFile), 0, true},
		{"CA cert missing", remove(CACertFile), 0, true},
		{"CA cert corrupt", overwrite(CACertFile, []byte("not pem")), 0, true},
		{"CA key does not match", copyFile(AdminKeyFile, CAKeyFile), 0, true},
		{"CA cert is a leaf", copyFile(AdminCertFile, CACertFile), 0, true},
		{"CA expired", nil, CAValidity + time.Hour, true},
		{"service-account key corrupt", overwrite(SAPrivateKeyFile, []byte("junk")), 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ensure(t, Config{Dir: dir})
			if tc.mutate != nil {
				tc.mutate(t, dir)
			}
			_, err := Ensure(Config{Dir: dir, Now: fixedClock(epoch.Add(tc.later)), Logger: slog.New(slog.DiscardHandler)})
			if err == nil {
				t.Fatal("Ensure succeeded, want error")
			}
			if got := errors.Is(err, ErrInvalidCA); got != tc.wantCAErr {
				t.Errorf("errors.Is(%v, ErrInvalidCA) = %v, want %v", err, got, tc.wantCAErr)
			}
		})
	}
}

func TestEnsureRejectsBadHosts(t *testing.T) {
	_, err := Ensure(Config{Dir: t.TempDir(), Hosts: []string{"ok.example", "bad host", "-x.example"}, Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		t.Fatal("Ensure accepted invalid hosts")
	}
}

func TestServiceAccountKeyPair(t *testing.T) {
	dir := t.TempDir()
	b := ensure(t, Config{Dir: dir})
	pubPEM, err := os.ReadFile(filepath.Join(dir, SAPublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := parsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !publicKeysEqual(b.ServiceAccountKey.Public(), pub) || !publicKeysEqual(b.ServiceAccountPublicKey, pub) {
		t.Error("sa.pub does not match sa.key")
	}
}
