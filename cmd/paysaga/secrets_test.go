package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paysaga/paysaga/api"
	"github.com/paysaga/paysaga/codec"
)

const (
	helpTossSecret = "live_sk_docs_must_not_be_printed_0001"
	helpJWTSecret  = "jwt-secret-must-not-be-printed-0123456789"
)

func TestSecretSettings_HelpNeverShowsThem(t *testing.T) {
	keys := codec.FormatKeys(codec.NewKey("k1"))
	t.Setenv("TOSS_SECRET_KEY", helpTossSecret)
	t.Setenv("JWT_HS256_SECRET", helpJWTSecret)
	t.Setenv("PAYLOAD_CODEC_KEYS", keys)
	for _, name := range []string{"api", "worker"} {
		s := newSettings(name)
		if name == "api" {
			s.apiSecurity()
		} else {
			s.codecSettings()
			s.secret("toss-secret-key", "TOSS_SECRET_KEY", "Toss secret key")
		}
		var help bytes.Buffer
		s.SetOutput(&help)
		s.PrintDefaults()
		for _, secret := range []string{helpTossSecret, helpJWTSecret, strings.Split(keys, ":")[1]} {
			if strings.Contains(help.String(), secret) {
				t.Errorf("%s -h prints a secret:\n%s", name, help.String())
			}
		}
		if !strings.Contains(help.String(), "(set)") {
			t.Errorf("%s -h does not say the secrets are set", name)
		}
	}
}

// tokenSources are the issuers and audiences production must be given.
var tokenSources = map[string]string{
	"JWT_ISSUER": "https://login.shop.example", "JWT_AUDIENCE": "paysaga",
	"OPERATOR_JWT_ISSUER": "https://sso.ops.example", "OPERATOR_JWT_AUDIENCE": "paysaga-admin",
}

func TestAPISecurity_ProductionAPIHasNoDevEndpoints(t *testing.T) {
	t.Setenv("TOSS_SECRET_KEY", helpTossSecret)
	t.Setenv("JWT_HS256_SECRET", helpJWTSecret)
	for k, v := range tokenSources {
		t.Setenv(k, v)
	}
	t.Setenv("PAYLOAD_CODEC_KEYS", codec.FormatKeys(codec.NewKey("k1")))
	s := newSettings("api")
	sec := s.apiSecurity()
	if err := s.Parse(nil); err != nil {
		t.Fatal(err)
	}
	var cfg api.Config
	if err := sec.apply(context.Background(), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.DevTokens || cfg.DevCodec || cfg.Auth == nil || cfg.Toss == nil || cfg.RateLimitPerUser == (api.Rate{}) || cfg.RateLimitPerIP == (api.Rate{}) {
		t.Fatalf("production API config: %+v", cfg)
	}
	h := api.New(nil, nil, cfg).Handler()
	for _, path := range []string{"/api/v1/dev/token", "/api/v1/dev/codec/decode"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{"userId":1}`)))
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s on the production API: %d", path, rec.Code)
		}
	}
}

func TestAPISecurity_RefusesToStartWithoutKeys(t *testing.T) {
	ok := map[string]string{"TOSS_SECRET_KEY": helpTossSecret, "JWT_HS256_SECRET": helpJWTSecret}
	for k, v := range tokenSources {
		ok[k] = v
	}
	// without is the working configuration less key, or with key set to value.
	without := func(key string, value ...string) map[string]string {
		env := map[string]string{}
		for k, v := range ok {
			env[k] = v
		}
		delete(env, key)
		if len(value) > 0 {
			env[key] = value[0]
		}
		return env
	}
	cases := map[string]map[string]string{
		"no customer token issuer":   without("JWT_ISSUER"),
		"no customer token audience": without("JWT_AUDIENCE"),
		"no operator token issuer":   without("OPERATOR_JWT_ISSUER"),
		"no operator token audience": without("OPERATOR_JWT_AUDIENCE"),
		"operators from the shop login": func() map[string]string {
			env := without("OPERATOR_JWT_ISSUER", tokenSources["JWT_ISSUER"])
			env["OPERATOR_JWT_AUDIENCE"] = tokenSources["JWT_AUDIENCE"]
			return env
		}(),
		"operator tokens that never end": without("OPERATOR_TOKEN_MAX_TTL", "0s"),
		"no token key":                   without("JWT_HS256_SECRET"),
		"short HS256 secret":             without("JWT_HS256_SECRET", "short"),
		"no Toss secret key":             without("TOSS_SECRET_KEY"),
		"wildcard CORS":                  without("CORS_ORIGINS", "*"),
		"fractional maximum":             without("MAX_ORDER_AMOUNT", "10.5"),
		"unparseable limit":              without("RATE_LIMIT_PER_USER", "fast"),
		"proxy not an address":           without("TRUSTED_PROXIES", "proxy.local"),
	}
	for name, env := range cases {
		t.Run(name, func(t *testing.T) {
			for _, k := range []string{"TOSS_SECRET_KEY", "JWT_HS256_SECRET", "JWT_PUBLIC_KEY_FILE", "JWT_JWKS_URL", "CORS_ORIGINS", "MAX_ORDER_AMOUNT", "RATE_LIMIT_PER_USER", "TRUSTED_PROXIES",
				"JWT_ISSUER", "JWT_AUDIENCE", "OPERATOR_JWT_ISSUER", "OPERATOR_JWT_AUDIENCE", "OPERATOR_TOKEN_MAX_TTL"} {
				t.Setenv(k, env[k])
			}
			s := newSettings("api")
			sec := s.apiSecurity()
			if err := s.Parse(nil); err != nil {
				t.Fatal(err)
			}
			err := sec.apply(context.Background(), &api.Config{})
			if err == nil {
				t.Fatal("started")
			}
			for _, secret := range []string{helpTossSecret, helpJWTSecret} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error shows a secret: %v", err)
				}
			}
		})
	}
	if _, err := (codecSettings{keys: &secretFlag{}}).build(); err == nil || !strings.Contains(err.Error(), "PAYLOAD_CODEC_KEYS") {
		t.Fatalf("no codec keys: %v", err)
	}
}
