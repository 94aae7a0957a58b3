package api

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/paysaga/paysaga"
)

// Rate is a token bucket: PerSecond requests a second on average, Burst at once. The zero
// Rate does not limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

// ParseRate reads "5" (5 a second, burst 5) or "5:20" (5 a second, burst 20); "0" or ""
// turns the limit off.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return Rate{}, nil
	}
	perSecond, burst, hasBurst := strings.Cut(s, ":")
	r, err := strconv.ParseFloat(perSecond, 64)
	if err != nil || r < 0 || math.IsInf(r, 0) || math.IsNaN(r) {
		return Rate{}, fmt.Errorf("rate %q: want requests per second, optionally :burst (e.g. 5:20)", s)
	}
	b := int(math.Ceil(r))
	if hasBurst {
		if b, err = strconv.Atoi(burst); err != nil || b < 1 {
			return Rate{}, fmt.Errorf("rate %q: the burst must be a positive integer", s)
		}
	}
	return Rate{PerSecond: r, Burst: max(b, 1)}, nil
}

func (r Rate) enabled() bool { return r.PerSecond > 0 }

// String writes the rate as ParseRate reads it.
func (r Rate) String() string {
	if !r.enabled() {
		return "0"
	}
	return strconv.FormatFloat(r.PerSecond, 'f', -1, 64) + ":" + strconv.Itoa(r.Burst)
}

// limit is echo's rate limiter with one bucket per key (the caller's user or IP), answering
// 429 RATE_LIMITED with a Retry-After of the time the next token takes to arrive.
func limit(r Rate, what string, key func(echo.Context) (string, error)) echo.MiddlewareFunc {
	if !r.enabled() {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	retryAfter := strconv.Itoa(int(math.Ceil(1 / r.PerSecond)))
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: rate.Limit(r.PerSecond), Burst: r.Burst, ExpiresIn: 10 * time.Minute,
		}),
		IdentifierExtractor: key,
		ErrorHandler: func(c echo.Context, err error) error {
			return err
		},
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			c.Response().Header().Set("Retry-After", retryAfter)
			return paysaga.Errorf(CodeRateLimited, "too many requests from this %s; retry after %s s", what, retryAfter)
		},
	})
}

// clientNetwork is what a per-address limit counts: an IPv4 address, or the /64 network of
// an IPv6 one. One IPv6 subscriber is handed a whole /64 and can pick a fresh address per
// request from it; counting addresses there would count nothing.
func clientNetwork(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String()
	}
	prefix, err := addr.Prefix(64)
	if err != nil {
		return ip
	}
	return prefix.String()
}

// limitIP limits by the client's address; it runs before authentication so that floods
// without a valid token are limited too.
func (s *Server) limitIP() echo.MiddlewareFunc { return s.ipLimit }

// limitUser limits by the signed-in user: one customer cannot crowd out the others from
// many addresses.
func (s *Server) limitUser() echo.MiddlewareFunc { return s.userLimit }

// guarded is the chain in front of the routes that create or move money: per address,
// then the token, then per user.
func (s *Server) guarded() []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{s.limitIP(), s.authenticate(), s.customer, s.limitUser()}
}

// signedIn is the chain in front of a customer's reads.
func (s *Server) signedIn() []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{s.authenticate(), s.customer}
}

// ipExtractor picks the client address the per-IP limit counts. By default it is the
// connection's peer: X-Forwarded-For is believed only from the configured proxies, or
// anyone could pick a fresh address per request.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// listSetting is the items of a comma-separated setting, trimmed, with empty ones dropped:
// "a, b," reads as "a,b" does.
func listSetting(s string) []string {
	var items []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// ParseTrustedProxies reads a comma-separated list of addresses and CIDR ranges.
func ParseTrustedProxies(s string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, part := range listSetting(s) {
		_, ipNet, err := net.ParseCIDR(part)
		if err != nil {
			ip := net.ParseIP(part)
			if ip == nil {
				return nil, fmt.Errorf("trusted proxy %q is neither an address nor a CIDR range", part)
			}
			bits := 128
			if ip4 := ip.To4(); ip4 != nil {
				ip, bits = ip4, 32
			}
			ipNet = &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}
		}
		out = append(out, ipNet)
	}
	return out, nil
}

// TossOrigins are where Toss's payment widget SDK loads its script, frames and API calls
// from; the checkout page needs them in its Content-Security-Policy in Toss mode.
var TossOrigins = []string{"https://js.tosspayments.com", "https://*.tosspayments.com"}

// ContentSecurityPolicy builds the policy for the checkout pages: scripts and styles from
// this server (no inline script), Toss's SDK, and extra origins the payment step talks to
// (the simulator's payment window on the dev stack). Framing is refused (clickjacking).
func ContentSecurityPolicy(extra ...string) string {
	payment := strings.Join(append(append([]string{}, TossOrigins...), extra...), " ")
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self' " + payment,
		"style-src 'self' 'unsafe-inline'",
		"img-src 'self' data: " + payment,
		"font-src 'self' data:",
		"connect-src 'self' " + payment,
		"frame-src 'self' " + payment,
		"form-action 'self' " + payment,
		"object-src 'none'",
		"base-uri 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// securityHeaders sets the standard headers on every answer (echo's Secure middleware).
// HSTS is sent only over TLS (or behind a proxy that says so): over plain HTTP it means
// nothing and would break the dev stack's loopback addresses in some browsers.
func (s *Server) securityHeaders() echo.MiddlewareFunc {
	csp := s.cfg.ContentSecurityPolicy
	if csp == "" {
		csp = ContentSecurityPolicy()
	}
	return middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection:         "0", // the old XSS auditor is gone or harmful; CSP replaces it
		ContentTypeNosniff:    "nosniff",
		XFrameOptions:         "DENY",
		HSTSMaxAge:            31536000,
		ContentSecurityPolicy: csp,
		ReferrerPolicy:        "strict-origin-when-cross-origin",
	})
}

// cors answers cross-origin requests only from the configured origins; with none, the
// browser's same-origin rule stands (the checkout pages are served by this server).
func (s *Server) cors() echo.MiddlewareFunc {
	if len(s.cfg.CORSOrigins) == 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins: s.cfg.CORSOrigins,
		AllowMethods: []string{"GET", "POST", "OPTIONS"},
		// X-Namespace is what the Temporal Web UI sends to a codec endpoint.
		AllowHeaders:  []string{echo.HeaderAuthorization, echo.HeaderContentType, "X-Namespace"},
		ExposeHeaders: []string{echo.HeaderLocation, "Retry-After"},
		MaxAge:        600,
	})
}

// ParseOrigins reads a comma-separated CORS allow-list and refuses anything that is not a
// bare scheme://host[:port] origin ("*" included: a payment API has no business with it).
func ParseOrigins(s string) ([]string, error) {
	var out []string
	for _, o := range listSetting(s) {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("CORS origin %q: want scheme://host[:port]", o)
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out, nil
}
