package auth

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
)

// ErrInvalidBearerToken is returned when a request carries a bearer token
// that no token authenticator accepts; upstream answers such requests with
// 401 rather than treating them as anonymous.
var ErrInvalidBearerToken = errors.New("invalid bearer token")

// TokenAuthenticator authenticates a bearer token. ok=false with a nil error
// means the token is not one this authenticator issued or knows.
type TokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, token string) (user *User, ok bool, err error)
}

// BearerToken extracts the token from "Authorization: Bearer <token>".
// It returns "" when there is none, using upstream's parsing: the scheme is
// case-insensitive, surrounding space is trimmed, and anything after a second
// space is ignored.
func BearerToken(r *http.Request) string {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return ""
	}
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	token, _, _ := strings.Cut(rest, " ")
	return token
}

// bearer tries token authenticators on the request's bearer token.
type bearer struct {
	tokens []TokenAuthenticator
}

var _ Authenticator = (*bearer)(nil)

// NewBearerToken returns an Authenticator for "Authorization: Bearer"
// tokens that asks each of tokens in order. As upstream, a request with a
// bearer token that none of them accepts fails with [ErrInvalidBearerToken]
// (wrapping any errors they returned) instead of falling through to
// anonymous; a request without a bearer token is not recognised.
func NewBearerToken(tokens ...TokenAuthenticator) Authenticator {
	return &bearer{tokens: tokens}
}

func (b *bearer) Authenticate(r *http.Request) (*User, bool, error) {
	token := BearerToken(r)
	if token == "" {
		return nil, false, nil
	}
	var errs []error
	for _, t := range b.tokens {
		user, ok, err := t.AuthenticateToken(r.Context(), token)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok && user != nil {
			return user, true, nil
		}
	}
	if len(errs) == 0 {
		return nil, false, ErrInvalidBearerToken
	}
	return nil, false, fmt.Errorf("%w: %w", ErrInvalidBearerToken, errors.Join(errs...))
}

// StaticTokens authenticates a fixed set of bearer tokens, the
// --token-auth-file mechanism of kube-apiserver. It is safe for concurrent
// use; the set cannot change after construction.
type StaticTokens struct {
	tokens map[string]*User
}

var (
	_ Authenticator      = (*StaticTokens)(nil)
	_ TokenAuthenticator = (*StaticTokens)(nil)
)

// NewStaticTokens returns an authenticator for tokens (token -> user). The
// map and users are copied.
func NewStaticTokens(tokens map[string]*User) *StaticTokens {
	m := make(map[string]*User, len(tokens))
	for t, u := range tokens {
		if t == "" || u == nil {
			continue
		}
		m[t] = u.clone()
	}
	return &StaticTokens{tokens: m}
}

// NewTokenFile reads a static token file in upstream's --token-auth-file
// CSV format: one `token,user,uid[,"group1,group2"]` record per line.
// Records with an empty token are skipped and a duplicated token keeps its
// last record (both with a warning), as upstream.
func NewTokenFile(path string, opts ...Option) (*StaticTokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open token file: %w", err)
	}
	defer f.Close()
	tokens, err := ParseTokenCSV(f, path, buildOptions(opts).logger)
	if err != nil {
		return nil, err
	}
	return &StaticTokens{tokens: tokens}, nil
}

// ParseTokenCSV parses static-token CSV from r; name identifies the source
// in errors and warnings. logger may be nil.
func ParseTokenCSV(r io.Reader, name string, logger *slog.Logger) (map[string]*User, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reader := csv.NewReader(r)
	reader.FieldsPerRecord = -1
	tokens := make(map[string]*User)
	recordNum := 0
	for {
		record, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read token file %q: %w", name, err)
		}
		if len(record) < 3 {
			return nil, fmt.Errorf("token file '%s' must have at least 3 columns (token, user name, user uid), found %d", name, len(record))
		}
		recordNum++
		if record[0] == "" {
			logger.Warn("empty token has been found in token file", "file", name, "record", recordNum)
			continue
		}
		u := &User{Name: record[1], UID: record[2]}
		if len(record) >= 4 {
			u.Groups = strings.Split(record[3], ",")
		}
		if _, dup := tokens[record[0]]; dup {
			logger.Warn("duplicate token has been found in token file", "file", name, "record", recordNum)
		}
		tokens[record[0]] = u
	}
	return tokens, nil
}

// AuthenticateToken implements [TokenAuthenticator].
func (s *StaticTokens) AuthenticateToken(_ context.Context, token string) (*User, bool, error) {
	u, ok := s.tokens[token]
	if !ok {
		return nil, false, nil
	}
	return u.clone(), true, nil
}

// Authenticate implements [Authenticator] on the request's bearer token; an
// unknown token is "not recognised". Use [NewBearerToken] to get upstream's
// 401 for unknown tokens.
func (s *StaticTokens) Authenticate(r *http.Request) (*User, bool, error) {
	token := BearerToken(r)
	if token == "" {
		return nil, false, nil
	}
	return s.AuthenticateToken(r.Context(), token)
}

// Len reports how many tokens are known.
func (s *StaticTokens) Len() int { return len(s.tokens) }
