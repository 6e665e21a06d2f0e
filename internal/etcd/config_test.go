package etcd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string // substrings, all must appear
	}{
		{"defaults", Config{DataDir: "/d"}, nil},
		{"fixed port", Config{DataDir: "/d", ClientURL: "http://127.0.0.1:2379"}, nil},
		{"unix socket", Config{DataDir: "/d", ClientURL: "unix:///run/kplane/etcd.sock"}, nil},
		{"compaction disabled", Config{DataDir: "/d", AutoCompactionRetention: "0"}, nil},
		{"no data dir", Config{}, []string{"DataDir is required"}},
		{"https", Config{DataDir: "/d", ClientURL: "https://127.0.0.1:2379"}, []string{`scheme must be http or unix, got "https"`}},
		{"no port", Config{DataDir: "/d", PeerURL: "http://127.0.0.1"}, []string{"PeerURL", "must have a host and port"}},
		{"bad retention", Config{DataDir: "/d", AutoCompactionRetention: "5 minutes"}, []string{"AutoCompactionRetention"}},
		{
			"all problems at once",
			Config{QuotaBackendBytes: -1, StartTimeout: -time.Second, ClientURL: "ftp://x:1"},
			[]string{"DataDir", "QuotaBackendBytes", "StartTimeout", "ClientURL"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors mentioning %v", tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate() = %q, missing %q", err, want)
				}
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	c := Config{DataDir: "/d"}.withDefaults()
	if c.QuotaBackendBytes != 8<<30 || c.AutoCompactionRetention != "5m" || c.ClientURL != DefaultClientURL ||
		c.PeerURL != DefaultPeerURL || c.UnsafeNoFsync || c.LogLevel == nil || c.Logger == nil {
		t.Errorf("withDefaults() = %+v", c)
	}
}

// writeCertFiles writes a self-signed cert and key into dir and returns
// their paths.
func writeCertFiles(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "etcd-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestClientTLSConfig(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCertFiles(t, dir)
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("not a cert"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		ca, cert, key  string
		wantNil        bool
		wantRoots      bool
		wantClientCert bool
		wantErr        bool
	}{
		{name: "nothing means plaintext", wantNil: true},
		{name: "CA only", ca: cert, wantRoots: true},
		{name: "client cert only uses system roots", cert: cert, key: key, wantClientCert: true},
		{name: "all three", ca: cert, cert: cert, key: key, wantRoots: true, wantClientCert: true},
		{name: "cert without key", cert: cert, wantErr: true},
		{name: "key without cert", key: key, wantErr: true},
		{name: "missing CA file", ca: filepath.Join(dir, "nope"), wantErr: true},
		{name: "CA file without certificates", ca: junk, wantErr: true},
		{name: "key does not parse", cert: cert, key: junk, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ClientTLSConfig(tc.ca, tc.cert, tc.key)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if (cfg == nil) != tc.wantNil {
				t.Fatalf("cfg = %v, wantNil %v", cfg, tc.wantNil)
			}
			if cfg == nil {
				return
			}
			if (cfg.RootCAs != nil) != tc.wantRoots {
				t.Errorf("RootCAs set = %v, want %v", cfg.RootCAs != nil, tc.wantRoots)
			}
			if (len(cfg.Certificates) == 1) != tc.wantClientCert {
				t.Errorf("client certificates = %d, want set=%v", len(cfg.Certificates), tc.wantClientCert)
			}
		})
	}
}
