package auth

import (
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseTokenCSV(t *testing.T) {
	tests := []struct {
		name    string
		csv     string
		want    map[string]User
		wantErr string
	}{
		{
			name: "upstream format",
			csv: "token1,alice,uid-a,\"system:masters,dev\"\n" +
				"token2,bob,uid-b\n",
			want: map[string]User{
				"token1": {Name: "alice", UID: "uid-a", Groups: []string{"system:masters", "dev"}},
				"token2": {Name: "bob", UID: "uid-b"},
			},
		},
		{
			name: "empty token skipped",
			csv:  ",ghost,uid-g\ntoken3,carol,uid-c,ops\n",
			want: map[string]User{"token3": {Name: "carol", UID: "uid-c", Groups: []string{"ops"}}},
		},
		{
			name: "duplicate token keeps last",
			csv:  "t,first,1\nt,second,2\n",
			want: map[string]User{"t": {Name: "second", UID: "2"}},
		},
		{
			name:    "too few columns",
			csv:     "token,alice\n",
			wantErr: "token file 'tokens.csv' must have at least 3 columns (token, user name, user uid), found 2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTokenCSV(strings.NewReader(tt.csv), "tokens.csv", nil)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d tokens, want %d", len(got), len(tt.want))
			}
			for tok, w := range tt.want {
				g := got[tok]
				if g == nil || g.Name != w.Name || g.UID != w.UID || !slices.Equal(g.Groups, w.Groups) {
					t.Errorf("token %q: got %+v, want %+v", tok, g, w)
				}
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		name, header, want string
	}{
		{name: "standard", header: "Bearer abc", want: "abc"},
		{name: "case-insensitive scheme", header: "bearer abc", want: "abc"},
		{name: "surrounding space", header: "  Bearer abc  ", want: "abc"},
		{name: "extra fields ignored", header: "Bearer abc def", want: "abc"},
		{name: "basic auth", header: "Basic abc", want: ""},
		{name: "scheme only", header: "Bearer", want: ""},
		{name: "none", header: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			if got := BearerToken(r); got != tt.want {
				t.Errorf("BearerToken = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTokenFileAuthenticate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(path, []byte("s3cret,alice,1001,\"dev,ops\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := NewTokenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		authn      Authenticator
		header     string
		wantOK     bool
		wantErrIs  error
		wantGroups []string
	}{
		{name: "known token", authn: tokens, header: "Bearer s3cret", wantOK: true, wantGroups: []string{"dev", "ops"}},
		{name: "unknown token not recognised", authn: tokens, header: "Bearer nope"},
		{name: "no header", authn: tokens},
		{name: "bearer wrapper known token", authn: NewBearerToken(tokens), header: "Bearer s3cret", wantOK: true, wantGroups: []string{"dev", "ops"}},
		{name: "bearer wrapper unknown token is 401", authn: NewBearerToken(tokens), header: "Bearer nope", wantErrIs: ErrInvalidBearerToken},
		{name: "bearer wrapper no header", authn: NewBearerToken(tokens)},
		{name: "union adds authenticated group", authn: NewUnion(NewBearerToken(tokens)), header: "Bearer s3cret", wantOK: true, wantGroups: []string{"dev", "ops", GroupAuthenticated}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			u, ok, err := tt.authn.Authenticate(r)
			if tt.wantErrIs != nil {
				if !errors.Is(err, tt.wantErrIs) {
					t.Fatalf("err = %v, want %v", err, tt.wantErrIs)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if ok && (u.Name != "alice" || u.UID != "1001" || !slices.Equal(u.Groups, tt.wantGroups)) {
				t.Errorf("user = %+v, want alice/1001 %q", u, tt.wantGroups)
			}
		})
	}
	// The union must not have mutated the stored user.
	u, _, _ := tokens.AuthenticateToken(t.Context(), "s3cret")
	if !slices.Equal(u.Groups, []string{"dev", "ops"}) {
		t.Errorf("stored user groups changed to %q", u.Groups)
	}
}

func TestNewTokenFileMissing(t *testing.T) {
	_, err := NewTokenFile(filepath.Join(t.TempDir(), "absent.csv"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want os.ErrNotExist", err)
	}
}
