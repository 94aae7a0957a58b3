package devstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"

	"github.com/paysaga/paysaga/api"
	"github.com/paysaga/paysaga/app"
	"github.com/paysaga/paysaga/codec"
)

// Security is who may call the dev stack's API and how its workflow payloads are sealed:
// tokens, payload keys, CORS and rate limits. The zero value is what `make dev` runs.
type Security struct {
	// JWTSecret signs and verifies bearer tokens (HS256, at least 32 bytes); empty draws
	// a random one per start. The dev stack hands tokens out at POST /api/v1/dev/token.
	JWTSecret string
	// CodecKeys seal workflow payloads ("id:base64,…", see package codec); empty uses
	// DataDir/codec.keys, created on the first start, so that a second `make dev` can
	// still read the first one's histories.
	CodecKeys string
	// CORSOrigins may call the API from a browser; the embedded Web UI is always added,
	// for its calls to the codec endpoint.
	CORSOrigins []string
	// RateLimitPerUser and RateLimitPerIP limit order creation and confirmation; zero is
	// off, so that tests and benchmarks from one address are not throttled.
	RateLimitPerUser, RateLimitPerIP api.Rate
	// SimWebhooks makes the simulator send its PAYMENT_STATUS_CHANGED webhooks to the API.
	SimWebhooks bool
}

// The dev stack's token sources, which its token endpoint signs for: customers' tokens as
// the shop's login would issue them, operators' as the operators' identity provider would.
// The production API needs the same four settings (JWT_ISSUER, JWT_AUDIENCE,
// OPERATOR_JWT_ISSUER, OPERATOR_JWT_AUDIENCE); tests run it with these.
const (
	TokenIssuer         = "paysaga-dev"
	TokenAudience       = "paysaga-api"
	OperatorTokenIssuer = "paysaga-dev-operators"
)

// prepareSecurity builds the token verifier and the payload codec before anything that
// needs them starts.
func (s *Stack) prepareSecurity(ctx context.Context) error {
	secret := []byte(s.Security.JWTSecret)
	if len(secret) == 0 {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return err
		}
		secret = []byte(base64.RawURLEncoding.EncodeToString(raw))
	}
	auth, err := api.NewAuth(ctx, api.AuthConfig{HS256Secret: secret,
		Issuer: TokenIssuer, Audience: TokenAudience, OperatorIssuer: OperatorTokenIssuer, OperatorAudience: TokenAudience})
	if err != nil {
		return err
	}
	var keys []codec.Key
	if s.Security.CodecKeys != "" {
		keys, err = codec.ParseKeys(s.Security.CodecKeys)
	} else {
		keys, err = codec.LoadOrCreateKeyFile(filepath.Join(s.DataDir, "codec.keys"))
	}
	if err != nil {
		return err
	}
	c, err := codec.New(keys...)
	if err != nil {
		return err
	}
	s.Auth, s.Codec = auth, c
	return nil
}

// secureAPI gives the API its verifier, the dev-only endpoints and a Toss client of its own
// for webhooks.
func (s *Stack) secureAPI(cfg *api.Config, account app.Toss) {
	cfg.Auth = s.Auth
	cfg.DevTokens = true
	cfg.DevCodec = true
	cfg.PublicMetrics = true // one listener for everything on a developer's machine
	cfg.Toss = account.Client(s.Telemetry)
	cfg.CORSOrigins = append([]string{}, s.Security.CORSOrigins...)
	if s.UIURL != "" {
		cfg.CORSOrigins = append(cfg.CORSOrigins, s.UIURL)
	}
	cfg.RateLimitPerUser, cfg.RateLimitPerIP = s.Security.RateLimitPerUser, s.Security.RateLimitPerIP
	if s.Simulator != nil {
		cfg.ContentSecurityPolicy = api.ContentSecurityPolicy(s.SimURL)
	}
}

// uiCodecEndpoint is where the embedded Web UI asks to decode payloads: the API's dev
// codec route, which needs no token (the embedded UI has no login to forward one from).
func (s *Stack) uiCodecEndpoint() string {
	if s.APIURL == "" {
		return ""
	}
	return fmt.Sprintf("%s/api/v1/dev/codec", s.APIURL)
}
