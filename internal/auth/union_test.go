package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func fixedAuthn(u *User, ok bool, err error) Authenticator {
	return AuthenticatorFunc(func(*http.Request) (*User, bool, error) { return u, ok, err })
}

func TestUnion(t *testing.T) {
	errBad := errors.New("bad cert")
	errBadToken := errors.New("bad token")
	alice := &User{Name: "alice", Groups: []string{"dev"}}
	already := &User{Name: "bob", Groups: []string{GroupAuthenticated, "ops"}}
	tests := []struct {
		name       string
		authns     []Authenticator
		wantOK     bool
		wantUser   string
		wantGroups []string
		wantErrs   []error
	}{
		{name: "first ok wins", authns: []Authenticator{fixedAuthn(nil, false, nil), fixedAuthn(alice, true, nil), fixedAuthn(already, true, nil)},
			wantOK: true, wantUser: "alice", wantGroups: []string{"dev", GroupAuthenticated}},
		{name: "error does not stop the search", authns: []Authenticator{fixedAuthn(nil, false, errBad), fixedAuthn(alice, true, nil)},
			wantOK: true, wantUser: "alice", wantGroups: []string{"dev", GroupAuthenticated}},
		{name: "no duplicate authenticated group", authns: []Authenticator{fixedAuthn(already, true, nil)},
			wantOK: true, wantUser: "bob", wantGroups: []string{GroupAuthenticated, "ops"}},
		{name: "anonymous keeps its groups", authns: []Authenticator{fixedAuthn(Anonymous(), true, nil)},
			wantOK: true, wantUser: UserAnonymous, wantGroups: []string{GroupUnauthenticated}},
		{name: "nobody recognises", authns: []Authenticator{fixedAuthn(nil, false, nil)}},
		{name: "errors joined when nobody authenticates", authns: []Authenticator{fixedAuthn(nil, false, errBad), fixedAuthn(nil, false, errBadToken)},
			wantErrs: []error{errBad, errBadToken}},
		{name: "empty union"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, ok, err := NewUnion(tt.authns...).Authenticate(httptest.NewRequest("GET", "/", nil))
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			for _, want := range tt.wantErrs {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want it to wrap %v", err, want)
				}
			}
			if len(tt.wantErrs) == 0 && err != nil {
				t.Errorf("unexpected error %v", err)
			}
			if ok && (u.Name != tt.wantUser || !slices.Equal(u.Groups, tt.wantGroups)) {
				t.Errorf("user = %s %q, want %s %q", u.Name, u.Groups, tt.wantUser, tt.wantGroups)
			}
		})
	}
	if !slices.Equal(alice.Groups, []string{"dev"}) {
		t.Errorf("union mutated the authenticator's user: %q", alice.Groups)
	}
}

func TestServiceAccountUsernames(t *testing.T) {
	tests := []struct {
		username string
		ns, name string
		ok       bool
	}{
		{"system:serviceaccount:kube-system:default", "kube-system", "default", true},
		{"system:serviceaccount:ns:", "", "", false},
		{"system:serviceaccount::name", "", "", false},
		{"system:serviceaccount:ns:a:b", "", "", false},
		{"system:serviceaccounts:ns", "", "", false},
		{"alice", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.username, func(t *testing.T) {
			ns, name, ok := SplitServiceAccountUsername(tt.username)
			if ns != tt.ns || name != tt.name || ok != tt.ok {
				t.Errorf("got (%q, %q, %v), want (%q, %q, %v)", ns, name, ok, tt.ns, tt.name, tt.ok)
			}
			if tt.ok {
				if got := ServiceAccountUsername(ns, name); got != tt.username {
					t.Errorf("ServiceAccountUsername = %q", got)
				}
				if !matchesServiceAccount(ns, name, tt.username) {
					t.Error("matchesServiceAccount = false")
				}
			}
		})
	}
	if matchesServiceAccount("a", "b:c", "system:serviceaccount:a:b") || matchesServiceAccount("a:b", "c", "system:serviceaccount:a:c") {
		t.Error("matchesServiceAccount matched a different account")
	}
	if got := ServiceAccountGroup("ns1"); got != "system:serviceaccounts:ns1" {
		t.Errorf("ServiceAccountGroup = %q", got)
	}
}

func FuzzParseTokenCSV(f *testing.F) {
	f.Add("token,user,uid,\"a,b\"\n")
	f.Add(",x,y\nt,u,i\n")
	f.Add("\"unterminated,u,i\n")
	f.Fuzz(func(t *testing.T, in string) {
		tokens, err := ParseTokenCSV(strings.NewReader(in), "fuzz", nil)
		if err != nil {
			return
		}
		for tok, u := range tokens {
			if tok == "" || u == nil {
				t.Fatalf("empty token or nil user parsed from %q", in)
			}
		}
	})
}
