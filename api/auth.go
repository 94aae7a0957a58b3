package api

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"

	"github.com/paysaga/paysaga"
)

// RoleOperator is the `role` claim of people who run the service: it opens the payload
// codec endpoint. Customers' tokens carry no role.
const RoleOperator = "operator"

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
	// Issuer and Audience, when set, must match the token's iss and aud.
	Issuer, Audience string
	// Leeway tolerates clock skew between the token's issuer and this server (default 30s).
	Leeway time.Duration
}

// Auth verifies bearer tokens: the algorithm is fixed by configuration, never taken from
// the token (no "none", no HS256 signed with an RSA public key), and exp is required.
type Auth struct {
	parser  *jwt.Parser
	keyfunc jwt.Keyfunc
	// signingKey is set in HS256 mode only: it lets the dev stack issue tokens.
	signingKey []byte
	issuer     string
	audience   string
}

// Claims are the token claims paysaga reads: sub is the user ID of a customer.
type Claims struct {
	jwt.RegisteredClaims
	Role string `json:"role,omitempty"`
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
	a := &Auth{issuer: cfg.Issuer, audience: cfg.Audience}
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
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	a.parser = jwt.NewParser(opts...)
	return a, nil
}

// CanIssue reports whether this Auth can sign tokens (HS256 mode).
func (a *Auth) CanIssue() bool { return a != nil && len(a.signingKey) > 0 }

// IssueToken signs a token for subject (a user ID, or an operator's name with role
// operator) valid for ttl. Only the dev stack's token endpoint and tests use it: in
// production tokens come from the shop's login or an identity provider.
func (a *Auth) IssueToken(subject, role string, ttl time.Duration) (string, error) {
	if !a.CanIssue() {
		return "", errors.New("auth: tokens can only be issued with an HS256 secret")
	}
	now := time.Now()
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   subject,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			Issuer:    a.issuer,
		},
		Role: role,
	}
	if a.audience != "" {
		claims.Audience = jwt.ClaimStrings{a.audience}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(a.signingKey)
}

// Verify parses and checks a raw token.
func (a *Auth) Verify(raw string) (*Claims, error) {
	claims := &Claims{}
	if _, err := a.parser.ParseWithClaims(raw, claims, a.keyfunc); err != nil {
		return nil, err
	}
	return claims, nil
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

// operator lets through callers whose token carries the operator role.
func (s *Server) operator(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		claims, _ := c.Get(callerKey).(*Claims)
		if claims == nil || claims.Role != RoleOperator {
			return paysaga.Errorf(CodeForbidden, "this endpoint is for operators")
		}
		return next(c)
	}
}

// callerID is the user the verified token speaks for.
func callerID(c echo.Context) (int64, error) {
	claims, _ := c.Get(callerKey).(*Claims)
	if claims == nil {
		return 0, paysaga.Errorf(CodeUnauthorized, "a bearer token is required (Authorization: Bearer <token>)")
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
