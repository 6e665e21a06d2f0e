package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Errors returned by the service-account authenticator; the API server
// answers all of them with 401.
var (
	ErrTokenExpired       = errors.New("service account token has expired")
	ErrTokenInvalidated   = errors.New("service account token has been invalidated")
	ErrTokenInvalid       = errors.New("service account token could not be validated")
	ErrTokenBadSignature  = errors.New("service account token signature is invalid")
	ErrTokenWrongAudience = errors.New("service account token audience is invalid")
)

// allowedAlgorithms are the JWS algorithms accepted when verifying, as
// upstream's service-account authenticator.
var allowedAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.PS256, jose.PS384, jose.PS512,
}

// BoundObject is the object a token is bound to (TokenRequest's
// boundObjectRef): the token is meant to die with it.
type BoundObject struct {
	// Kind is "Pod", "Secret" or "Node".
	Kind string
	Name string
	UID  string
	// NodeName and NodeUID, for a Pod, record the node the pod runs on
	// (upstream's pod-node-info claim); optional.
	NodeName string
	NodeUID  string
}

// privateClaims is the "kubernetes.io" claim of upstream bound tokens.
type privateClaims struct {
	Kubernetes kubernetesClaims `json:"kubernetes.io,omitempty"`
}

type kubernetesClaims struct {
	Namespace      string     `json:"namespace,omitempty"`
	ServiceAccount objectRef  `json:"serviceaccount,omitempty"`
	Pod            *objectRef `json:"pod,omitempty"`
	Secret         *objectRef `json:"secret,omitempty"`
	Node           *objectRef `json:"node,omitempty"`
}

// issuedClaims is the full claim set of an issued token. It does not use
// jwt.Claims because go-jose writes a single audience as a bare string,
// while kube-apiserver always writes "aud" as an array (clients such as
// Vault and Infisical rely on that).
type issuedClaims struct {
	Issuer     string           `json:"iss"`
	Subject    string           `json:"sub"`
	Audience   []string         `json:"aud"`
	Expiry     *jwt.NumericDate `json:"exp"`
	NotBefore  *jwt.NumericDate `json:"nbf"`
	IssuedAt   *jwt.NumericDate `json:"iat"`
	ID         string           `json:"jti"`
	Kubernetes kubernetesClaims `json:"kubernetes.io"`
}

type objectRef struct {
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// TokenIssuer signs bound service-account tokens (TokenRequest) with the
// same claims kube-apiserver puts in them.
type TokenIssuer struct {
	issuer string
	signer jose.Signer
	now    func() time.Time
}

// NewTokenIssuer returns an issuer that signs as issuer (the iss claim, and
// what the authenticator must be configured with) using signer, which must
// be an *ecdsa.PrivateKey (P-256/384/521 → ES256/384/512) or an
// *rsa.PrivateKey (RS256). The JWS header carries the key id upstream uses:
// base64url(sha256(PKIX public key)).
func NewTokenIssuer(issuer string, signer crypto.Signer, opts ...Option) (*TokenIssuer, error) {
	if issuer == "" {
		return nil, errors.New("token issuer: issuer must not be empty")
	}
	alg, err := signingAlgorithm(signer)
	if err != nil {
		return nil, fmt.Errorf("token issuer: %w", err)
	}
	kid, err := KeyID(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("token issuer: %w", err)
	}
	s, err := jose.NewSigner(jose.SigningKey{
		Algorithm: alg,
		Key:       jose.JSONWebKey{Algorithm: string(alg), Key: signer, KeyID: kid, Use: "sig"},
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("token issuer: new signer: %w", err)
	}
	return &TokenIssuer{issuer: issuer, signer: s, now: buildOptions(opts).now}, nil
}

func signingAlgorithm(signer crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch k := signer.(type) {
	case *rsa.PrivateKey:
		return jose.RS256, nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
		return "", fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
	case nil:
		return "", errors.New("signer must not be nil")
	}
	return "", fmt.Errorf("unsupported signing key type %T (want *ecdsa.PrivateKey or *rsa.PrivateKey)", signer)
}

// KeyID returns the JWS key id kube-apiserver derives from a public key:
// the unpadded base64url SHA-256 of its PKIX DER encoding. The API server's
// /openid/v1/jwks document must publish keys under these ids.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("marshal public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// Issue signs a token for service account namespace/saName (with UID saUID)
// valid for audiences from now until now+expiry, optionally bound to an
// object. It returns the token and its expiry time.
func (t *TokenIssuer) Issue(namespace, saName, saUID string, audiences []string, expiry time.Duration, boundObject *BoundObject) (string, time.Time, error) {
	if namespace == "" || saName == "" {
		return "", time.Time{}, errors.New("issue token: service account namespace and name are required")
	}
	if len(audiences) == 0 {
		return "", time.Time{}, errors.New("issue token: at least one audience is required")
	}
	if expiry <= 0 {
		return "", time.Time{}, fmt.Errorf("issue token: expiry must be positive, got %s", expiry)
	}
	now := t.now().Truncate(time.Second)
	exp := now.Add(expiry)
	jti, err := newUUID()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue token: %w", err)
	}
	claims := issuedClaims{
		Issuer:    t.issuer,
		Subject:   ServiceAccountUsername(namespace, saName),
		Audience:  slices.Clone(audiences),
		Expiry:    jwt.NewNumericDate(exp),
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        jti,
		Kubernetes: kubernetesClaims{
			Namespace:      namespace,
			ServiceAccount: objectRef{Name: saName, UID: saUID},
		},
	}
	if b := boundObject; b != nil {
		ref := &objectRef{Name: b.Name, UID: b.UID}
		switch b.Kind {
		case "Pod":
			claims.Kubernetes.Pod = ref
			if b.NodeName != "" {
				claims.Kubernetes.Node = &objectRef{Name: b.NodeName, UID: b.NodeUID}
			}
		case "Secret":
			claims.Kubernetes.Secret = ref
		case "Node":
			claims.Kubernetes.Node = ref
		default:
			return "", time.Time{}, fmt.Errorf("issue token: unsupported bound object kind %q", b.Kind)
		}
	}
	token, err := jwt.Signed(t.signer).Claims(claims).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue token: sign: %w", err)
	}
	return token, exp, nil
}

// newUUID returns a random (version 4) UUID for the jti claim.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random jti: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// SALookup returns the UID of service account namespace/name, or an error
// if it cannot (for example because it was deleted). Any error invalidates
// the token, as upstream.
type SALookup func(ctx context.Context, namespace, name string) (uid string, err error)

// ServiceAccountTokens authenticates service-account JWTs issued by
// [TokenIssuer] (or by kube-apiserver with the same issuer and keys).
type ServiceAccountTokens struct {
	issuer    string
	audiences []string
	keys      []crypto.PublicKey
	lookup    SALookup
	now       func() time.Time
}

var (
	_ Authenticator      = (*ServiceAccountTokens)(nil)
	_ TokenAuthenticator = (*ServiceAccountTokens)(nil)
)

// NewServiceAccountAuthenticator returns an authenticator for tokens whose
// iss is issuer, signed by one of keys, with at least one audience in
// audiences (empty means []string{issuer}, kube-apiserver's default
// --api-audiences). lookup, if not nil, is asked on every request whether
// the service account still exists with the UID in the token.
//
// Tokens with another issuer, and strings that are not JWTs, are not
// recognised (ok=false) so other token authenticators can try them.
func NewServiceAccountAuthenticator(issuer string, audiences []string, keys []crypto.PublicKey, lookup SALookup, opts ...Option) *ServiceAccountTokens {
	if len(audiences) == 0 {
		audiences = []string{issuer}
	}
	return &ServiceAccountTokens{
		issuer:    issuer,
		audiences: slices.Clone(audiences),
		keys:      slices.Clone(keys),
		lookup:    lookup,
		now:       buildOptions(opts).now,
	}
}

// Authenticate implements [Authenticator] on the request's bearer token.
func (s *ServiceAccountTokens) Authenticate(r *http.Request) (*User, bool, error) {
	token := BearerToken(r)
	if token == "" {
		return nil, false, nil
	}
	return s.AuthenticateToken(r.Context(), token)
}

// AuthenticateToken implements [TokenAuthenticator].
func (s *ServiceAccountTokens) AuthenticateToken(ctx context.Context, token string) (*User, bool, error) {
	if strings.Count(token, ".") != 2 {
		return nil, false, nil
	}
	tok, err := jwt.ParseSigned(token, allowedAlgorithms)
	if err != nil {
		return nil, false, nil
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil || unverified.Issuer != s.issuer {
		return nil, false, nil
	}

	var (
		public  jwt.Claims
		private privateClaims
		errs    []error
		found   bool
	)
	for _, key := range s.keys {
		if err := tok.Claims(key, &public, &private); err != nil {
			errs = append(errs, err)
			continue
		}
		found = true
		break
	}
	if !found {
		return nil, false, fmt.Errorf("%w: %w", ErrTokenBadSignature, errors.Join(errs...))
	}

	if !slices.ContainsFunc(s.audiences, public.Audience.Contains) {
		return nil, false, fmt.Errorf("%w: token audiences %q is invalid for the target audiences %q", ErrTokenWrongAudience, []string(public.Audience), s.audiences)
	}

	switch err := public.Validate(jwt.Expected{Time: s.now()}); {
	case err == nil:
	case errors.Is(err, jwt.ErrExpired):
		return nil, false, ErrTokenExpired
	default:
		return nil, false, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}

	k := private.Kubernetes
	if k.Namespace == "" || k.ServiceAccount.Name == "" || k.ServiceAccount.UID == "" {
		return nil, false, fmt.Errorf("%w: missing kubernetes.io namespace or service account claims", ErrTokenInvalid)
	}
	if public.Subject != ServiceAccountUsername(k.Namespace, k.ServiceAccount.Name) {
		return nil, false, fmt.Errorf("%w: sub %q does not match the kubernetes.io claims", ErrTokenInvalid, public.Subject)
	}

	if s.lookup != nil {
		uid, err := s.lookup(ctx, k.Namespace, k.ServiceAccount.Name)
		if err != nil {
			return nil, false, fmt.Errorf("%w: service account %s/%s: %w", ErrTokenInvalidated, k.Namespace, k.ServiceAccount.Name, err)
		}
		if uid != k.ServiceAccount.UID {
			return nil, false, fmt.Errorf("%w: service account UID (%s) does not match claim (%s)", ErrTokenInvalidated, uid, k.ServiceAccount.UID)
		}
	}

	user := &User{
		Name:   ServiceAccountUsername(k.Namespace, k.ServiceAccount.Name),
		UID:    k.ServiceAccount.UID,
		Groups: []string{GroupServiceAccounts, ServiceAccountGroup(k.Namespace), GroupAuthenticated},
	}
	extra := map[string][]string{}
	if k.Pod != nil {
		extra[ExtraPodName] = []string{k.Pod.Name}
		extra[ExtraPodUID] = []string{k.Pod.UID}
	}
	if k.Node != nil {
		extra[ExtraNodeName] = []string{k.Node.Name}
		if k.Node.UID != "" {
			extra[ExtraNodeUID] = []string{k.Node.UID}
		}
	}
	if public.ID != "" {
		extra[ExtraCredentialID] = []string{"JTI=" + public.ID}
	}
	if len(extra) > 0 {
		user.Extra = extra
	}
	return user, true, nil
}
