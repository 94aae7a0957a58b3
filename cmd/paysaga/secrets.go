package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/shopspring/decimal"

	"github.com/paysaga/paysaga/api"
	"github.com/paysaga/paysaga/app"
	"github.com/paysaga/paysaga/codec"
)

// secretFlag holds a secret setting. Its default comes from the environment like every
// other setting, but `-h` shows only whether it is set: flag prints a flag's default.
type secretFlag struct{ value string }

func (f *secretFlag) String() string {
	if f == nil || f.value == "" {
		return ""
	}
	return "(set)"
}

func (f *secretFlag) Set(v string) error { f.value = v; return nil }

func (s settings) secret(name, envKey, usage string) *secretFlag {
	f := &secretFlag{value: env(envKey, "")}
	s.Var(f, name, usage+" (env "+envKey+")")
	return f
}

// secretStr is a secret setting with a default, for settings read as a plain string (a
// database URL carries its password).
func (s settings) secretStr(name, envKey, def, usage string) *string {
	f := &secretFlag{value: env(envKey, def)}
	s.Var(f, name, usage+" (env "+envKey+")")
	return &f.value
}

// codecSettings is the payload codec key setting of api and worker: both must seal and
// open with the same keys.
type codecSettings struct{ keys *secretFlag }

func (s settings) codecSettings() codecSettings {
	return codecSettings{keys: s.secret("payload-codec-keys", "PAYLOAD_CODEC_KEYS",
		"keys that encrypt workflow payloads, id:base64[,id:base64…] (32 random bytes each, e.g. `openssl rand -base64 32`); the first encrypts")}
}

func (c codecSettings) build() (*codec.Codec, error) {
	if c.keys.value == "" {
		return nil, errors.New("PAYLOAD_CODEC_KEYS is required: workflow histories hold customer data and are stored encrypted (e.g. PAYLOAD_CODEC_KEYS=k1:$(openssl rand -base64 32))")
	}
	keys, err := codec.ParseKeys(c.keys.value)
	if err != nil {
		return nil, err
	}
	return codec.New(keys...)
}

// apiSecurity is what protects the production API, most of it secret: token verification,
// the Toss client that verifies webhooks, CORS, rate limits and input bounds.
type apiSecurity struct {
	jwtSecret                                                       *secretFlag
	jwtPublicKeyFile, jwksURL, jwtIssuer, jwtAudience               *string
	operatorIssuer, operatorAudience                                *string
	operatorMaxTTL                                                  *time.Duration
	tossURL                                                         *string
	tossSecret                                                      *secretFlag
	cors, rateUser, rateIP, rateWebhook, rateCancel, trustedProxies *string
	maxAmount, csp                                                  *string
	codec                                                           codecSettings
}

func (s settings) apiSecurity() apiSecurity {
	return apiSecurity{
		jwtSecret:        s.secret("jwt-hs256-secret", "JWT_HS256_SECRET", "shared secret that signs customers' tokens (HS256, ≥ 32 bytes); or use -jwt-public-key-file / -jwt-jwks-url"),
		jwtPublicKeyFile: s.str("jwt-public-key-file", "JWT_PUBLIC_KEY_FILE", "", "PEM file of the RSA public key that verifies tokens (RS256)"),
		jwksURL:          s.str("jwt-jwks-url", "JWT_JWKS_URL", "", "JWKS URL of the identity provider whose RS256 tokens are accepted"),
		jwtIssuer:        s.str("jwt-issuer", "JWT_ISSUER", "", "iss of customers' tokens (required)"),
		jwtAudience:      s.str("jwt-audience", "JWT_AUDIENCE", "", "aud of customers' tokens (required)"),
		operatorIssuer:   s.str("operator-jwt-issuer", "OPERATOR_JWT_ISSUER", "", "iss of operators' tokens, the only one the operator role is accepted from (required)"),
		operatorAudience: s.str("operator-jwt-audience", "OPERATOR_JWT_AUDIENCE", "", "aud of operators' tokens (required)"),
		operatorMaxTTL: s.duration("operator-token-max-ttl", "OPERATOR_TOKEN_MAX_TTL", api.DefaultOperatorTokenMaxTTL,
			"longest lifetime (exp − iat) of an operator token; a longer one, or one without iat, is refused the role"),
		tossURL:        s.str("toss-api-url", "TOSS_API_URL", "https://api.tosspayments.com", "Toss Payments API base URL"),
		tossSecret:     s.secret("toss-secret-key", "TOSS_SECRET_KEY", "Toss secret key: the API reads payments back to verify webhooks and paymentKeys"),
		cors:           s.str("cors-origins", "CORS_ORIGINS", "", "comma-separated origins allowed to call the API from a browser; empty: same origin only"),
		rateUser:       s.str("rate-limit-per-user", "RATE_LIMIT_PER_USER", "5:20", "order creates and confirms per second per user, :burst; 0 turns it off"),
		rateIP:         s.str("rate-limit-per-ip", "RATE_LIMIT_PER_IP", "20:60", "order creates, confirms and cancels per second per client address (an IPv6 client's /64), :burst; 0 turns it off"),
		rateWebhook:    s.str("rate-limit-webhook", "WEBHOOK_RATE_LIMIT", "50:200", "Toss webhooks per second per sending address, :burst, in a budget apart from shoppers'; 0 turns it off"),
		rateCancel:     s.str("rate-limit-cancel", "CANCEL_RATE_LIMIT", "1:5", "cancels per second per customer or operator, :burst; 0 turns it off"),
		trustedProxies: s.str("trusted-proxies", "TRUSTED_PROXIES", "", "addresses or CIDR ranges of proxies whose X-Forwarded-For is believed"),
		maxAmount:      s.str("max-order-amount", "MAX_ORDER_AMOUNT", api.DefaultMaxAmount.String(), "largest order amount in KRW"),
		csp:            s.str("content-security-policy", "CONTENT_SECURITY_POLICY", "", "replaces the default Content-Security-Policy of the checkout pages"),
		codec:          s.codecSettings(),
	}
}

// apply fills cfg. The production API never serves the dev token endpoint.
func (a apiSecurity) apply(ctx context.Context, cfg *api.Config) error {
	// Without an issuer and audience to check, any token the key verifies would do — one
	// minted for another service, or an operator role from the shop's login.
	for _, s := range []struct{ name, value string }{{"JWT_ISSUER", *a.jwtIssuer}, {"JWT_AUDIENCE", *a.jwtAudience},
		{"OPERATOR_JWT_ISSUER", *a.operatorIssuer}, {"OPERATOR_JWT_AUDIENCE", *a.operatorAudience}} {
		if err := required(s.name, s.value); err != nil {
			return err
		}
	}
	if *a.operatorMaxTTL <= 0 {
		return fmt.Errorf("OPERATOR_TOKEN_MAX_TTL must be positive, got %s", *a.operatorMaxTTL)
	}
	auth := api.AuthConfig{HS256Secret: []byte(a.jwtSecret.value), JWKSURL: *a.jwksURL, Issuer: *a.jwtIssuer, Audience: *a.jwtAudience,
		OperatorIssuer: *a.operatorIssuer, OperatorAudience: *a.operatorAudience, OperatorMaxTTL: *a.operatorMaxTTL}
	if *a.jwtPublicKeyFile != "" {
		pem, err := os.ReadFile(*a.jwtPublicKeyFile)
		if err != nil {
			return fmt.Errorf("JWT_PUBLIC_KEY_FILE: %w", err)
		}
		auth.RSAPublicKeyPEM = pem
	}
	verifier, err := api.NewAuth(ctx, auth)
	if err != nil {
		return fmt.Errorf("%w (set JWT_HS256_SECRET, JWT_PUBLIC_KEY_FILE or JWT_JWKS_URL)", err)
	}
	cfg.Auth = verifier
	if err := required("TOSS_SECRET_KEY", a.tossSecret.value); err != nil {
		return err
	}
	cfg.Toss = app.Toss{URL: *a.tossURL, SecretKey: a.tossSecret.value, Timeout: 10 * time.Second}.Client(cfg.Telemetry)
	if cfg.CORSOrigins, err = api.ParseOrigins(*a.cors); err != nil {
		return fmt.Errorf("CORS_ORIGINS: %w", err)
	}
	if cfg.RateLimitPerUser, err = api.ParseRate(*a.rateUser); err != nil {
		return fmt.Errorf("RATE_LIMIT_PER_USER: %w", err)
	}
	if cfg.RateLimitPerIP, err = api.ParseRate(*a.rateIP); err != nil {
		return fmt.Errorf("RATE_LIMIT_PER_IP: %w", err)
	}
	if cfg.RateLimitWebhook, err = api.ParseRate(*a.rateWebhook); err != nil {
		return fmt.Errorf("WEBHOOK_RATE_LIMIT: %w", err)
	}
	if cfg.RateLimitCancel, err = api.ParseRate(*a.rateCancel); err != nil {
		return fmt.Errorf("CANCEL_RATE_LIMIT: %w", err)
	}
	if cfg.TrustedProxies, err = api.ParseTrustedProxies(*a.trustedProxies); err != nil {
		return fmt.Errorf("TRUSTED_PROXIES: %w", err)
	}
	maxAmount, err := decimal.NewFromString(*a.maxAmount)
	if err != nil || !maxAmount.IsPositive() || !maxAmount.IsInteger() {
		return fmt.Errorf("MAX_ORDER_AMOUNT must be a positive whole number of won, got %q", *a.maxAmount)
	}
	cfg.MaxAmount = maxAmount
	cfg.ContentSecurityPolicy = *a.csp
	return nil
}
