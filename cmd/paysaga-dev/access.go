package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/paysaga/paysaga/api"
	"github.com/paysaga/paysaga/devstack"
)

// securityFlags adds the settings of tokens, payload encryption, CORS, rate limits and
// simulator webhooks. Secrets come from the environment or a flag, and `-h` never shows
// them.
func securityFlags(fs *flag.FlagSet, cfg *devstack.Config) {
	sec := &cfg.Security
	sec.JWTSecret = os.Getenv("JWT_HS256_SECRET")
	sec.CodecKeys = os.Getenv("PAYLOAD_CODEC_KEYS")
	fs.Func("jwt-hs256-secret", "secret that signs the dev tokens, ≥ 32 bytes (env JWT_HS256_SECRET; default: random per start)",
		func(v string) error { sec.JWTSecret = v; return nil })
	fs.Func("payload-codec-keys", "keys that encrypt workflow payloads, id:base64,… (env PAYLOAD_CODEC_KEYS; default: "+cfg.DataDir+"/codec.keys, created once)",
		func(v string) error { sec.CodecKeys = v; return nil })
	origins := func(v string) error {
		o, err := api.ParseOrigins(v)
		sec.CORSOrigins = o
		return err
	}
	rate := func(dst *api.Rate) func(string) error {
		return func(v string) error {
			r, err := api.ParseRate(v)
			*dst = r
			return err
		}
	}
	for _, e := range []struct {
		env string
		set func(string) error
	}{
		{"CORS_ORIGINS", origins},
		{"RATE_LIMIT_PER_USER", rate(&sec.RateLimitPerUser)},
		{"RATE_LIMIT_PER_IP", rate(&sec.RateLimitPerIP)},
	} {
		if v, ok := os.LookupEnv(e.env); ok {
			if err := e.set(v); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", e.env, err)
				os.Exit(2)
			}
		}
	}
	fs.Func("cors-origins", "origins allowed to call the API from a browser, comma-separated (env CORS_ORIGINS; the Web UI is always allowed)", origins)
	fs.Func("rate-limit-per-user", "order creates and confirms per second per user, :burst (env RATE_LIMIT_PER_USER; default off)", rate(&sec.RateLimitPerUser))
	fs.Func("rate-limit-per-ip", "order creates, confirms and webhooks per second per address, :burst (env RATE_LIMIT_PER_IP; default off)", rate(&sec.RateLimitPerIP))
	fs.BoolVar(&sec.SimWebhooks, "sim-webhooks", env("PAYSAGA_SIM_WEBHOOKS", "true") == "true",
		"the simulator sends PAYMENT_STATUS_CHANGED webhooks to the API (env PAYSAGA_SIM_WEBHOOKS)")
}
