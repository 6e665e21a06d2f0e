package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// union tries authenticators in order, as upstream's union authenticator
// wrapped in its authenticated-group adder.
type union struct {
	authns []Authenticator
}

var _ Authenticator = (*union)(nil)

// NewUnion returns an Authenticator that tries authns in order: the first
// ok answer wins. Errors do not stop the search (a bad bearer token must not
// hide a valid client certificate); if nobody authenticates the request the
// collected errors are returned, joined. Every authenticated user gets the
// system:authenticated group (once), except the anonymous user and users
// already carrying system:unauthenticated, exactly as upstream.
func NewUnion(authns ...Authenticator) Authenticator {
	return &union{authns: authns}
}

func (u *union) Authenticate(r *http.Request) (*User, bool, error) {
	var errs []error
	for _, a := range u.authns {
		user, ok, err := a.Authenticate(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok && user != nil {
			return withAuthenticatedGroup(user), true, nil
		}
	}
	return nil, false, errors.Join(errs...)
}

// withAuthenticatedGroup returns user with system:authenticated appended,
// copying rather than mutating, because users may be shared (static tokens).
func withAuthenticatedGroup(user *User) *User {
	if user.Name == UserAnonymous {
		return user
	}
	for _, g := range user.Groups {
		if g == GroupAuthenticated || g == GroupUnauthenticated {
			return user
		}
	}
	c := *user
	c.Groups = make([]string, len(user.Groups), len(user.Groups)+1)
	copy(c.Groups, user.Groups)
	c.Groups = append(c.Groups, GroupAuthenticated)
	return &c
}

// unionAuthorizer asks authorizers in order.
type unionAuthorizer struct {
	authzs []Authorizer
}

var _ Authorizer = (*unionAuthorizer)(nil)

// NewUnionAuthorizer returns an Authorizer that allows a request as soon as
// one of authzs allows it (short-circuiting, like upstream's union). When
// none does, the non-empty reasons are joined with "\n" and the errors are
// joined; per upstream's filter, the API server answers 500 if the decision
// is "not allowed" with an error, and 403 otherwise.
func NewUnionAuthorizer(authzs ...Authorizer) Authorizer {
	return &unionAuthorizer{authzs: authzs}
}

func (u *unionAuthorizer) Authorize(ctx context.Context, a Attributes) (bool, string, error) {
	var (
		errs    []error
		reasons []string
	)
	for _, z := range u.authzs {
		allowed, reason, err := z.Authorize(ctx, a)
		if allowed {
			return true, reason, nil
		}
		if err != nil {
			errs = append(errs, err)
		}
		if reason != "" {
			reasons = append(reasons, reason)
		}
	}
	return false, strings.Join(reasons, "\n"), errors.Join(errs...)
}
