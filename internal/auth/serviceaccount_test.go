package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

const testIssuer = "https://kubernetes.default.svc.cluster.local"

func mustECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestServiceAccountTokens(t *testing.T) {
	key := mustECKey(t)
	otherKey := mustECKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	clock := WithClock(func() time.Time { return now })

	issuer, err := NewTokenIssuer(testIssuer, key, clock)
	if err != nil {
		t.Fatal(err)
	}
	otherIssuer, err := NewTokenIssuer(testIssuer, otherKey, clock)
	if err != nil {
		t.Fatal(err)
	}
	rsaIssuer, err := NewTokenIssuer(testIssuer, rsaKey, clock)
	if err != nil {
		t.Fatal(err)
	}
	foreignIssuer, err := NewTokenIssuer("https://elsewhere", key, clock)
	if err != nil {
		t.Fatal(err)
	}

	accounts := map[string]string{"ns1/builder": "uid-builder", "ns1/recreated": "uid-new"}
	lookup := func(_ context.Context, ns, name string) (string, error) {
		uid, ok := accounts[ns+"/"+name]
		if !ok {
			return "", fmt.Errorf("serviceaccount %q not found", name)
		}
		return uid, nil
	}
	keys := []crypto.PublicKey{otherKey.Public(), key.Public(), rsaKey.Public()}

	issue := func(iss *TokenIssuer, ns, name, uid string, aud []string, exp time.Duration, bound *BoundObject) string {
		t.Helper()
		tok, expiry, err := iss.Issue(ns, name, uid, aud, exp, bound)
		if err != nil {
			t.Fatal(err)
		}
		if want := now.Add(exp); !expiry.Equal(want) {
			t.Fatalf("expiry = %v, want %v", expiry, want)
		}
		return tok
	}
	api := []string{"api"}

	tests := []struct {
		name      string
		token     string
		authn     *ServiceAccountTokens
		advance   time.Duration
		wantOK    bool
		wantErrIs error
		wantExtra map[string]string
	}{
		{name: "valid ES256", token: issue(issuer, "ns1", "builder", "uid-builder", api, time.Hour, nil), wantOK: true},
		{name: "valid RS256", token: issue(rsaIssuer, "ns1", "builder", "uid-builder", api, time.Hour, nil), wantOK: true},
		{name: "one of several audiences", token: issue(issuer, "ns1", "builder", "uid-builder", []string{"vault", "api"}, time.Hour, nil), wantOK: true},
		{name: "pod-bound", token: issue(issuer, "ns1", "builder", "uid-builder", api, time.Hour,
			&BoundObject{Kind: "Pod", Name: "p1", UID: "pod-uid", NodeName: "n1", NodeUID: "node-uid"}), wantOK: true,
			wantExtra: map[string]string{ExtraPodName: "p1", ExtraPodUID: "pod-uid", ExtraNodeName: "n1", ExtraNodeUID: "node-uid"}},
		{name: "expired", token: issue(issuer, "ns1", "builder", "uid-builder", api, time.Hour, nil), advance: 2 * time.Hour, wantErrIs: ErrTokenExpired},
		{name: "within leeway after expiry", token: issue(issuer, "ns1", "builder", "uid-builder", api, time.Hour, nil), advance: time.Hour + 30*time.Second, wantOK: true},
		{name: "wrong audience", token: issue(issuer, "ns1", "builder", "uid-builder", []string{"vault"}, time.Hour, nil), wantErrIs: ErrTokenWrongAudience},
		{name: "unknown signing key", token: issue(otherIssuer, "ns1", "builder", "uid-builder", api, time.Hour, nil),
			authn: NewServiceAccountAuthenticator(testIssuer, api, []crypto.PublicKey{key.Public()}, lookup, clock), wantErrIs: ErrTokenBadSignature},
		{name: "deleted service account", token: issue(issuer, "ns1", "gone", "uid-gone", api, time.Hour, nil), wantErrIs: ErrTokenInvalidated},
		{name: "recreated service account", token: issue(issuer, "ns1", "recreated", "uid-old", api, time.Hour, nil), wantErrIs: ErrTokenInvalidated},
		{name: "no lookup skips existence check", token: issue(issuer, "ns1", "gone", "uid-gone", api, time.Hour, nil),
			authn: NewServiceAccountAuthenticator(testIssuer, api, keys, nil, clock), wantOK: true},
		{name: "default audience is the issuer", token: issue(issuer, "ns1", "builder", "uid-builder", []string{testIssuer}, time.Hour, nil),
			authn: NewServiceAccountAuthenticator(testIssuer, nil, keys, lookup, clock), wantOK: true},
		{name: "other issuer not recognised", token: issue(foreignIssuer, "ns1", "builder", "uid-builder", api, time.Hour, nil)},
		{name: "not a JWT not recognised", token: "s3cret"},
		{name: "three garbage parts not recognised", token: "a.b.c"},
		{name: "tampered payload", token: tamper(t, issue(issuer, "ns1", "builder", "uid-builder", api, time.Hour, nil)), wantErrIs: ErrTokenBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			authn := tt.authn
			if authn == nil {
				authn = NewServiceAccountAuthenticator(testIssuer, api, keys, lookup, WithClock(func() time.Time { return now.Add(tt.advance) }))
			}
			r := httptest.NewRequest("GET", "/api", nil)
			r.Header.Set("Authorization", "Bearer "+tt.token)
			u, ok, err := authn.Authenticate(r)
			if tt.wantErrIs != nil {
				if !errors.Is(err, tt.wantErrIs) {
					t.Fatalf("err = %v, want %v", err, tt.wantErrIs)
				}
			} else if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if u.Name != "system:serviceaccount:ns1:builder" && u.Name != "system:serviceaccount:ns1:gone" {
				t.Errorf("name = %q", u.Name)
			}
			wantGroups := []string{"system:serviceaccounts", "system:serviceaccounts:ns1", "system:authenticated"}
			if !slices.Equal(u.Groups, wantGroups) {
				t.Errorf("groups = %q, want %q", u.Groups, wantGroups)
			}
			if u.UID == "" {
				t.Error("UID is empty")
			}
			if id := u.Extra[ExtraCredentialID]; len(id) != 1 || !strings.HasPrefix(id[0], "JTI=") {
				t.Errorf("credential-id = %q", id)
			}
			for k, v := range tt.wantExtra {
				if got := u.Extra[k]; len(got) != 1 || got[0] != v {
					t.Errorf("extra[%s] = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// tamper swaps the service account name in the payload, keeping the
// signature.
func tamper(t *testing.T, token string) string {
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	payload = []byte(strings.ReplaceAll(string(payload), "builder", "admin00"))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestIssuedTokenClaims(t *testing.T) {
	key := mustECKey(t)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	issuer, err := NewTokenIssuer(testIssuer, key, WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := issuer.Issue("kube-system", "replicaset-controller", "sa-uid", []string{"api"}, 10*time.Minute,
		&BoundObject{Kind: "Pod", Name: "web-1", UID: "pod-uid"})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	var header map[string]any
	decodeSegment(t, parts[0], &header)
	kid, err := KeyID(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if header["alg"] != "ES256" || header["kid"] != kid {
		t.Errorf("header = %v, want alg ES256 kid %s", header, kid)
	}

	var claims struct {
		Iss string   `json:"iss"`
		Sub string   `json:"sub"`
		Aud []string `json:"aud"`
		Exp int64    `json:"exp"`
		Iat int64    `json:"iat"`
		Nbf int64    `json:"nbf"`
		Jti string   `json:"jti"`
		K8s struct {
			Namespace      string            `json:"namespace"`
			ServiceAccount map[string]string `json:"serviceaccount"`
			Pod            map[string]string `json:"pod"`
		} `json:"kubernetes.io"`
	}
	decodeSegment(t, parts[1], &claims)
	checks := []struct {
		name      string
		got, want any
	}{
		{"iss", claims.Iss, testIssuer},
		{"sub", claims.Sub, "system:serviceaccount:kube-system:replicaset-controller"},
		{"aud", strings.Join(claims.Aud, ","), "api"},
		{"exp", claims.Exp, now.Add(10 * time.Minute).Unix()},
		{"iat", claims.Iat, now.Unix()},
		{"nbf", claims.Nbf, now.Unix()},
		{"jti length", len(claims.Jti), 36},
		{"namespace", claims.K8s.Namespace, "kube-system"},
		{"serviceaccount", fmt.Sprint(claims.K8s.ServiceAccount), "map[name:replicaset-controller uid:sa-uid]"},
		{"pod", fmt.Sprint(claims.K8s.Pod), "map[name:web-1 uid:pod-uid]"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func decodeSegment(t *testing.T, seg string, into any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatal(err)
	}
}

func TestIssueRejectsBadInput(t *testing.T) {
	issuer, err := NewTokenIssuer(testIssuer, mustECKey(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		ns, sa    string
		aud       []string
		expiry    time.Duration
		bound     *BoundObject
		wantError string
	}{
		{name: "no audience", ns: "a", sa: "b", expiry: time.Hour, wantError: "at least one audience"},
		{name: "no name", ns: "a", aud: []string{"api"}, expiry: time.Hour, wantError: "namespace and name are required"},
		{name: "zero expiry", ns: "a", sa: "b", aud: []string{"api"}, wantError: "expiry must be positive"},
		{name: "bad bound kind", ns: "a", sa: "b", aud: []string{"api"}, expiry: time.Hour, bound: &BoundObject{Kind: "Deployment"}, wantError: "unsupported bound object kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := issuer.Issue(tt.ns, tt.sa, "uid", tt.aud, tt.expiry, tt.bound)
			if err == nil || !strings.Contains(err.Error(), tt.wantError) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantError)
			}
		})
	}
	if _, err := NewTokenIssuer(testIssuer, nil); err == nil {
		t.Error("NewTokenIssuer(nil signer) succeeded")
	}
}
