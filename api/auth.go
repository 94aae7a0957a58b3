package api

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"

	"github.com/paysaga/paysaga"
)

// RoleOperator is the `role` claim of people who run the service: it opens the payload
// codec endpoint and the admin routes, which move money. Customers' tokens carry no role.
const RoleOperator = "operator"

// DefaultOperatorTokenMaxTTL caps an operator token's lifetime (exp − iat) when none is
// configured: a stolen operator token moves money, so it must not outlive a shift's task.
const DefaultOperatorTokenMaxTTL = time.Hour

// minHS256Secret is the shortest shared secret accepted: RFC 7518 asks for a key at least
// as long as the hash (256 bits); a shorter one can be brute-forced from one token.
const minHS256Secret = 32

// AuthConfig says how bearer tokens are verified. Exactly one of HS256Secret,
// RSAPublicKeyPEM and JWKSURL is set: a shared secret (the dev stack, or a shop whose
// login service shares one), or the public half of an identity provider's RS256 keys,
// given directly or fetched (and refreshed) from its JWKS URL.
type AuthConfig struct {
	HS256Secret     []byte
	RSAPublicKeyPEM []byte
	JWKSURL         string
	// Issuer and Audience, when set, must match a customer token's iss and aud.
	Issuer, Audience string
	// OperatorIssuer and OperatorAudience are the only iss and aud from which the operator
	// role is accepted: customers' tokens come from the shop's login, which must never be
	// able to make an operator. Without OperatorIssuer no token is an operator's.
	OperatorIssuer, OperatorAudience string
	// OperatorMaxTTL caps exp − iat of an operator token (default
	// DefaultOperatorTokenMaxTTL); one without iat is refused the role.
	OperatorMaxTTL time.Duration
	// Leeway tolerates clock skew between the token's issuer and this server (default 30s).
	Leeway time.Duration
}

// Auth verifies bearer tokens: the algorithm is fixed by configuration, never taken from
// the token (no "none", no HS256 signed with an RSA public key), and exp is required.
type Auth struct {
	parser  *jwt.Parser
	keyfunc jwt.Keyfunc
	// signingKey is set in HS256 mode only: it lets the dev stack issue tokens.
	signingKey         []byte
	customer, operator tokenSource
	operatorMaxTTL     time.Duration
}

// tokenSource is an issuer and audience a token may come from; empty fields are not checked.
type tokenSource struct{ issuer, audience string }

// issued reports whether the token names this source's issuer and audience.
func (src tokenSource) issued(c *Claims) bool {
	return (src.issuer == "" || c.Issuer == src.issuer) &&
		(src.audience == "" || slices.Contains(c.Audience, src.audience))
}

// Claims are the token claims paysaga reads: sub is the user ID of a customer.
type Claims struct {
	jwt.RegisteredClaims
	Role string `json:"role,omitempty"`

	// Set by Verify: the token came from the customers' issuer and audience, and (for the
	// operator role) from the operators' within the lifetime cap, or why not.
	customer    bool
	operatorErr error
}

// NewAuth builds the verifier. ctx bounds the background refresh of a JWKS.
func NewAuth(ctx context.Context, cfg AuthConfig) (*Auth, error) {
	set := 0
	for _, on := range []bool{len(cfg.HS256Secret) > 0, len(cfg.RSAPublicKeyPEM) > 0, cfg.JWKSURL != ""} {
		if on {
			set++
		}
	}
	if set != 1 {
		return nil, errors.New("auth: configure exactly one of the HS256 secret, the RS256 public key and the JWKS URL")
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.OperatorMaxTTL <= 0 {
		cfg.OperatorMaxTTL = DefaultOperatorTokenMaxTTL
	}
	if cfg.OperatorIssuer != "" && cfg.OperatorIssuer == cfg.Issuer && cfg.OperatorAudience == cfg.Audience {
		return nil, errors.New("auth: the operators' issuer and audience must differ from the customers': otherwise any customer token source can make an operator")
	}
	a := &Auth{
		customer:       tokenSource{cfg.Issuer, cfg.Audience},
		operator:       tokenSource{cfg.OperatorIssuer, cfg.OperatorAudience},
		operatorMaxTTL: cfg.OperatorMaxTTL,
	}
	var method string
	switch {
	case len(cfg.HS256Secret) > 0:
		if len(cfg.HS256Secret) < minHS256Secret {
			// Never say what the secret is, only how long it must be.
			return nil, fmt.Errorf("auth: the HS256 secret must be at least %d bytes", minHS256Secret)
		}
		method = jwt.SigningMethodHS256.Alg()
		a.signingKey = cfg.HS256Secret
		a.keyfunc = func(*jwt.Token) (any, error) { return a.signingKey, nil }
	case len(cfg.RSAPublicKeyPEM) > 0:
		key, err := jwt.ParseRSAPublicKeyFromPEM(cfg.RSAPublicKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("auth: RS256 public key: %w", err)
		}
		if key.N.BitLen() < 2048 {
			return nil, fmt.Errorf("auth: RS256 public key has %d bits; at least 2048 are required", key.N.BitLen())
		}
		method = jwt.SigningMethodRS256.Alg()
		a.keyfunc = func(*jwt.Token) (any, error) { return key, nil }
	default:
		kf, err := keyfunc.NewDefaultCtx(ctx, []string{cfg.JWKSURL})
		if err != nil {
			return nil, fmt.Errorf("auth: JWKS from %s: %w", cfg.JWKSURL, err)
		}
		method = jwt.SigningMethodRS256.Alg()
		a.keyfunc = func(t *jwt.Token) (any, error) {
			key, err := kf.Keyfunc(t)
			if err != nil {
				return nil, err
			}
			if _, ok := key.(*rsa.PublicKey); !ok {
				return nil, errors.New("the JWKS key for this token is not an RSA key")
			}
			return key, nil
		}
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{method}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
	}
	// iss and aud are checked by Verify, against the customers' source or the operators'.
	a.parser = jwt.NewParser(opts...)
	return a, nil
}

// CanIssue reports whether this Auth can sign tokens (HS256 mode).
func (a *Auth) CanIssue() bool { return a != nil && len(a.signingKey) > 0 }

// IssueToken signs a token for subject (a user ID, or an operator's name with role
// operator) valid for ttl, from the customers' issuer or, for the operator role, the
// operators'. Only the dev stack's token endpoint and tests use it: in production tokens
// come from the shop's login or an identity provider.
func (a *Auth) IssueToken(subject, role string, ttl time.Duration) (string, error) {
	src := a.customer
	if role == RoleOperator {
		src = a.operator
	}
	now := time.Now()
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   subject,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			Issuer:    src.issuer,
		},
		Role: role,
	}
	if src.audience != "" {
		claims.Audience = jwt.ClaimStrings{src.audience}
	}
	return a.Sign(claims)
}

// Sign signs any claims with the HS256 secret: tests use it to forge the tokens the API
// must refuse (an operator role from the customers' issuer, a week-long operator token).
func (a *Auth) Sign(claims Claims) (string, error) {
	if !a.CanIssue() {
		return "", errors.New("auth: tokens can only be issued with an HS256 secret")
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(a.signingKey)
}

// Verify parses and checks a raw token: its signature and lifetime, and that it comes from
// the customers' issuer and audience or the operators'. Which one, and whether the operator
// role holds, it records in the claims for the routes to ask.
func (a *Auth) Verify(raw string) (*Claims, error) {
	claims := &Claims{}
	if _, err := a.parser.ParseWithClaims(raw, claims, a.keyfunc); err != nil {
		return nil, err
	}
	claims.customer = a.customer.issued(claims)
	claims.operatorErr = a.checkOperator(claims)
	if !claims.customer && claims.operatorErr != nil {
		return nil, errors.New("the token is from neither the customers' nor the operators' issuer and audience")
	}
	return claims, nil
}

// checkOperator is the rule of who is an operator: a token with the operator role, from the
// operators' issuer and audience, that lives at most the configured cap (so one leaked
// token is worth little) and says when it was issued (without iat the cap means nothing).
func (a *Auth) checkOperator(c *Claims) error {
	switch {
	case c.Role != RoleOperator:
		return errors.New("the token does not carry the operator role")
	case a.operator.issuer == "" || !a.operator.issued(c):
		return errors.New("the operator role is accepted only from the operators' issuer and audience")
	case c.IssuedAt == nil || c.ExpiresAt == nil:
		return errors.New("an operator token must say when it was issued (iat)")
	case c.ExpiresAt.Sub(c.IssuedAt.Time) > a.operatorMaxTTL:
		return fmt.Errorf("an operator token may live at most %s", a.operatorMaxTTL)
	}
	return nil
}

// callerKey is where the verified claims live in the echo context.
const callerKey = "paysaga.claims"

// errNoAuth is the answer on every protected route when the server was started without
// a token verifier: it fails closed.
var errNoAuth = errors.New("auth: no token verifier configured")

// authenticate is echo's JWT middleware with paysaga's verifier: `Authorization: Bearer`
// only (a token in a query string ends up in access logs), and every failure the same
// 401 with a stable code, whatever the reason; the reason goes to the debug log.
func (s *Server) authenticate() echo.MiddlewareFunc {
	return echojwt.WithConfig(echojwt.Config{
		ContextKey:  callerKey,
		TokenLookup: "header:Authorization:Bearer ",
		ParseTokenFunc: func(c echo.Context, raw string) (any, error) {
			if s.cfg.Auth == nil {
				return nil, errNoAuth
			}
			return s.cfg.Auth.Verify(raw)
		},
		ErrorHandler: func(c echo.Context, err error) error {
			if errors.Is(err, errNoAuth) {
				s.logger.ErrorContext(c.Request().Context(), "request refused: the API runs without a token verifier")
			} else {
				s.logger.DebugContext(c.Request().Context(), "token refused",
					slog.String("path", c.Path()), slog.String("reason", err.Error()))
			}
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="paysaga"`)
			if errors.Is(err, echojwt.ErrJWTMissing) {
				return paysaga.Errorf(CodeUnauthorized, "a bearer token is required (Authorization: Bearer <token>)")
			}
			return paysaga.Errorf(CodeUnauthorized, "the bearer token is invalid or expired")
		},
	})
}

// customer lets through callers whose token names a user: sub is a positive user ID.
func (s *Server) customer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := callerID(c); err != nil {
			return err
		}
		return next(c)
	}
}

// operator lets through callers whose token makes them an operator (see operatorName).
func (s *Server) operator(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := s.operatorName(c); err != nil {
			return err
		}
		return next(c)
	}
}

// maxOperatorName bounds the subject an operator is recorded by.
const maxOperatorName = 80

// operatorName is the operator the verified token speaks for — its subject, which the
// events of what they do record — or 403 FORBIDDEN when the token is not an operator's
// (a customer's, the operator role from the customers' issuer, one that lives too long).
// Every route that acts as an operator asks it.
func (s *Server) operatorName(c echo.Context) (string, error) {
	claims, _ := c.Get(callerKey).(*Claims)
	if claims == nil {
		return "", paysaga.Errorf(CodeUnauthorized, "a bearer token is required (Authorization: Bearer <token>)")
	}
	if claims.operatorErr != nil {
		s.logger.InfoContext(c.Request().Context(), "operator role refused",
			slog.String("path", c.Path()), slog.String("reason", claims.operatorErr.Error()))
		return "", paysaga.Errorf(CodeForbidden, "this endpoint is for operators")
	}
	if paysaga.CheckText("sub", claims.Subject, maxOperatorName) != nil {
		return "", paysaga.Errorf(CodeUnauthorized, "the operator token has no usable subject")
	}
	return claims.Subject, nil
}

// callerID is the user the verified token speaks for: only a token from the customers'
// issuer and audience names one.
func callerID(c echo.Context) (int64, error) {
	claims, _ := c.Get(callerKey).(*Claims)
	if claims == nil {
		return 0, paysaga.Errorf(CodeUnauthorized, "a bearer token is required (Authorization: Bearer <token>)")
	}
	if !claims.customer {
		return 0, paysaga.Errorf(CodeUnauthorized, "the bearer token does not name a user")
	}
	id, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != claims.Subject {
		return 0, paysaga.Errorf(CodeUnauthorized, "the bearer token does not name a user")
	}
	return id, nil
}

// actingUser is the user a request acts for: the token's, and a userId in the body must
// agree with it. The body's field stays optional so that pages written against the
// original API (which sent userId) keep working.
func actingUser(c echo.Context, bodyUserID userID) (int64, error) {
	id, err := callerID(c)
	if err != nil {
		return 0, err
	}
	if bodyUserID != 0 && int64(bodyUserID) != id {
		return 0, paysaga.Errorf(CodeForbidden, "field userId: a request can only act for the signed-in user")
	}
	return id, nil
}

// devTokenRequest asks the dev stack for a token.
type devTokenRequest struct {
	UserID userID `json:"userId"`
	Role   string `json:"role"`
}

type devTokenResponse struct {
	Token     string `json:"token"`
	TokenType string `json:"tokenType"`
	ExpiresIn int    `json:"expiresIn"`
	Subject   string `json:"subject"`
}

// devTokenTTL is how long a dev token lives: long enough to click through a checkout.
const devTokenTTL = time.Hour

// issueDevToken is POST /api/v1/dev/token. It exists on the dev stack only: it hands a
// token to anyone who asks, for any demo user, or an operator token for the Web UI's codec.
func (s *Server) issueDevToken(c echo.Context) error {
	var req devTokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var subject string
	switch {
	case req.Role == RoleOperator && req.UserID == 0:
		subject = "dev-operator"
	case req.Role != "":
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "field role: only %q is known (or leave it out for a customer)", RoleOperator)
	case req.UserID <= 0:
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "field userId: must be a positive integer")
	default:
		user, err := s.store.GetUser(c.Request().Context(), int64(req.UserID))
		if err != nil {
			return err
		}
		subject = strconv.FormatInt(user.ID, 10)
	}
	token, err := s.cfg.Auth.IssueToken(subject, req.Role, devTokenTTL)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, devTokenResponse{Token: token, TokenType: "Bearer",
		ExpiresIn: int(devTokenTTL / time.Second), Subject: subject})
}
