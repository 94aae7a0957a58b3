package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/paysaga/paysaga/codec"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-test")

func hsAuth(t *testing.T) *Auth {
	t.Helper()
	a, err := NewAuth(context.Background(), AuthConfig{HS256Secret: testSecret, Issuer: "paysaga-test",
		OperatorIssuer: "paysaga-test-operators", OperatorAudience: "paysaga-admin"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsignedToken is an "alg":"none" token, built by hand as an attacker would.
func unsignedToken(claims jwt.MapClaims) string {
	enc := base64.RawURLEncoding
	head, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	body, _ := json.Marshal(claims)
	return enc.EncodeToString(head) + "." + enc.EncodeToString(body) + "."
}

func validClaims(sub string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"sub": sub, "iss": "paysaga-test", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

func TestAuth_HS256_RefusesEveryForgery(t *testing.T) {
	a := hsAuth(t)
	good := sign(t, jwt.SigningMethodHS256, testSecret, validClaims("7"))
	if c, err := a.Verify(good); err != nil || c.Subject != "7" {
		t.Fatalf("good token: %v %v", c, err)
	}
	issued, err := a.IssueToken("8", "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := a.Verify(issued); err != nil || c.Subject != "8" {
		t.Fatalf("issued token: %v %v", c, err)
	}
	expired := validClaims("7")
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	noExp := validClaims("7")
	delete(noExp, "exp")
	wrongIssuer := validClaims("7")
	wrongIssuer["iss"] = "someone-else"
	future := validClaims("7")
	future["iat"] = time.Now().Add(time.Hour).Unix()
	bad := map[string]string{
		"wrong secret":      sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-000"), validClaims("7")),
		"expired":           sign(t, jwt.SigningMethodHS256, testSecret, expired),
		"no exp":            sign(t, jwt.SigningMethodHS256, testSecret, noExp),
		"wrong issuer":      sign(t, jwt.SigningMethodHS256, testSecret, wrongIssuer),
		"issued in future":  sign(t, jwt.SigningMethodHS256, testSecret, future),
		"alg none":          unsignedToken(validClaims("7")),
		"HS512 same secret": sign(t, jwt.SigningMethodHS512, testSecret, validClaims("7")),
		"garbage":           "not.a.token",
		"empty":             "",
		"payload swapped":   strings.Split(good, ".")[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"1","exp":9999999999}`)) + "." + strings.Split(good, ".")[2],
	}
	for name, tok := range bad {
		if _, err := a.Verify(tok); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestAuth_Config(t *testing.T) {
	ctx := context.Background()
	if _, err := NewAuth(ctx, AuthConfig{}); err == nil {
		t.Error("no key: accepted")
	}
	short := []byte("short-secret")
	_, err := NewAuth(ctx, AuthConfig{HS256Secret: short})
	if err == nil || strings.Contains(err.Error(), string(short)) {
		t.Errorf("short secret: %v", err)
	}
	if _, err := NewAuth(ctx, AuthConfig{HS256Secret: testSecret, JWKSURL: "http://127.0.0.1:1/jwks"}); err == nil {
		t.Error("two key sources: accepted")
	}
	if _, err := NewAuth(ctx, AuthConfig{RSAPublicKeyPEM: []byte("not pem")}); err == nil {
		t.Error("bad PEM: accepted")
	}
}

func rsaKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestAuth_RS256_PublicKeyAndNoAlgorithmConfusion(t *testing.T) {
	key, pubPEM := rsaKey(t)
	a, err := NewAuth(context.Background(), AuthConfig{RSAPublicKeyPEM: pubPEM})
	if err != nil {
		t.Fatal(err)
	}
	claims := validClaims("42")
	delete(claims, "iss")
	if c, err := a.Verify(sign(t, jwt.SigningMethodRS256, key, claims)); err != nil || c.Subject != "42" {
		t.Fatalf("RS256 token: %v %v", c, err)
	}
	// The classic confusion: HS256 "signed" with the public key everyone can read.
	if _, err := a.Verify(sign(t, jwt.SigningMethodHS256, pubPEM, claims)); err == nil {
		t.Fatal("HS256 token keyed with the RSA public key accepted")
	}
	other, _ := rsaKey(t)
	if _, err := a.Verify(sign(t, jwt.SigningMethodRS256, other, claims)); err == nil {
		t.Fatal("token of another RSA key accepted")
	}
	if a.CanIssue() {
		t.Fatal("RS256 mode must not issue tokens")
	}
}

func TestAuth_RS256_JWKS(t *testing.T) {
	key, _ := rsaKey(t)
	jwks := map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
	}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jwks)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := NewAuth(ctx, AuthConfig{JWKSURL: srv.URL, Audience: "paysaga"})
	if err != nil {
		t.Fatal(err)
	}
	claims := validClaims("42")
	claims["aud"] = "paysaga"
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "k1"
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := a.Verify(raw); err != nil || c.Subject != "42" {
		t.Fatalf("JWKS token: %v %v", c, err)
	}
	claims["aud"] = "another-service"
	tok = jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "k1"
	raw, _ = tok.SignedString(key)
	if _, err := a.Verify(raw); err == nil {
		t.Fatal("token for another audience accepted")
	}
}

// request runs one request through a server without a store: everything here is refused
// (or answered) before a handler would touch the database.
func request(t *testing.T, s *Server, method, path, token, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	req.RemoteAddr = "192.0.2.10:5555"
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func errorOf(t *testing.T, rec *httptest.ResponseRecorder) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("not an error body: %q", rec.Body.String())
	}
	return e
}

func TestProtectedRoutes_RefuseWithoutAValidToken(t *testing.T) {
	a := hsAuth(t)
	s := New(nil, nil, Config{Auth: a})
	userTok, _ := a.IssueToken("1", "", time.Minute)
	adminTok, _ := a.IssueToken("admin", "", time.Minute)
	cases := []struct{ name, method, path, token, header string }{
		{"create without token", "POST", "/api/v1/orders", "", ""},
		{"confirm without token", "POST", "/api/v1/orders/confirm", "", ""},
		{"read without token", "GET", "/api/v1/orders/ord_abcdefgh", "", ""},
		{"garbage token", "POST", "/api/v1/orders", "garbage", ""},
		{"subject not a user", "POST", "/api/v1/orders", adminTok, ""},
		{"basic auth", "POST", "/api/v1/orders", "", "Basic dXNlcjpwYXNz"},
		{"token in the query", "GET", "/api/v1/orders/ord_abcdefgh?token=" + userTok, "", ""},
	}
	for _, tc := range cases {
		var hdr []string
		if tc.header != "" {
			hdr = []string{"Authorization", tc.header}
		}
		rec := request(t, s, tc.method, tc.path, tc.token, `{}`, hdr...)
		if e := errorOf(t, rec); rec.Code != http.StatusUnauthorized || e.Code != CodeUnauthorized || e.Message == "" {
			t.Errorf("%s: %d %+v", tc.name, rec.Code, e)
		}
		if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") && tc.name != "subject not a user" {
			t.Errorf("%s: WWW-Authenticate %q", tc.name, rec.Header().Get("WWW-Authenticate"))
		}
		if strings.Contains(rec.Body.String(), string(testSecret)) || (tc.token != "" && strings.Contains(rec.Body.String(), tc.token)) {
			t.Errorf("%s: the answer repeats a secret or the token", tc.name)
		}
	}
	// Without a verifier the API fails closed.
	rec := request(t, New(nil, nil, Config{}), "POST", "/api/v1/orders", userTok, `{}`)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("no verifier: %d", rec.Code)
	}
}

func TestBodyUserIDMustBeTheTokens(t *testing.T) {
	a := hsAuth(t)
	s := New(nil, nil, Config{Auth: a})
	tok, _ := a.IssueToken("1", "", time.Minute)
	for _, path := range []string{"/api/v1/orders", "/api/v1/orders/confirm"} {
		body := `{"userId":2,"productId":1,"quantity":1,"amount":1000}`
		if strings.HasSuffix(path, "confirm") {
			body = `{"userId":"2","orderId":"ord_abcdefgh","paymentKey":"tsim_k","amount":1000}`
		}
		rec := request(t, s, "POST", path, tok, body)
		if e := errorOf(t, rec); rec.Code != http.StatusForbidden || e.Code != CodeForbidden {
			t.Errorf("%s: %d %+v", path, rec.Code, e)
		}
	}
}

func TestRateLimits_PerIPAndPerUser_429WithRetryAfter(t *testing.T) {
	a := hsAuth(t)
	s := New(nil, nil, Config{Auth: a, RateLimitPerIP: Rate{PerSecond: 0.5, Burst: 3}, RateLimitPerUser: Rate{PerSecond: 0.5, Burst: 2}})
	// Per address, before the token is even looked at.
	var codes []int
	for range 4 {
		codes = append(codes, request(t, s, "POST", "/api/v1/orders", "", `{}`).Code)
	}
	rec := request(t, s, "POST", "/api/v1/orders", "", `{}`)
	if e := errorOf(t, rec); rec.Code != http.StatusTooManyRequests || e.Code != CodeRateLimited || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("per IP: %v then %d %+v Retry-After %q", codes, rec.Code, e, rec.Header().Get("Retry-After"))
	}
	if codes[0] != http.StatusUnauthorized || codes[3] != http.StatusTooManyRequests {
		t.Fatalf("per IP: %v", codes)
	}

	// Per user, from many addresses: a malformed body is refused after the limiter, so
	// the handler never needs a database here.
	s = New(nil, nil, Config{Auth: a, RateLimitPerUser: Rate{PerSecond: 0.5, Burst: 2}})
	tok, _ := a.IssueToken("1", "", time.Minute)
	other, _ := a.IssueToken("2", "", time.Minute)
	codes = nil
	for i := range 3 {
		req := httptest.NewRequest("POST", "/api/v1/orders/confirm", strings.NewReader(`{`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.RemoteAddr = "198.51.100." + string(rune('1'+i)) + ":1"
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		codes = append(codes, rec.Code)
	}
	if codes[0] != 400 || codes[1] != 400 || codes[2] != 429 {
		t.Fatalf("per user: %v", codes)
	}
	if rec := request(t, s, "POST", "/api/v1/orders/confirm", other, `{`); rec.Code != 400 {
		t.Fatalf("another user is limited too: %d", rec.Code)
	}
}

func TestForwardedForIsBelievedOnlyFromTrustedProxies(t *testing.T) {
	a := hsAuth(t)
	lim := Rate{PerSecond: 0.1, Burst: 1}
	// Untrusted peer: a fresh X-Forwarded-For per request does not buy a fresh bucket.
	s := New(nil, nil, Config{Auth: a, RateLimitPerIP: lim})
	request(t, s, "POST", "/api/v1/orders", "", `{}`, "X-Forwarded-For", "203.0.113.1")
	if rec := request(t, s, "POST", "/api/v1/orders", "", `{}`, "X-Forwarded-For", "203.0.113.2"); rec.Code != 429 {
		t.Fatalf("spoofed X-Forwarded-For evaded the limit: %d", rec.Code)
	}
	// Behind a trusted proxy, each client has its own bucket.
	proxies, err := ParseTrustedProxies("192.0.2.0/24")
	if err != nil {
		t.Fatal(err)
	}
	s = New(nil, nil, Config{Auth: a, RateLimitPerIP: lim, TrustedProxies: proxies})
	request(t, s, "POST", "/api/v1/orders", "", `{}`, "X-Forwarded-For", "203.0.113.1")
	if rec := request(t, s, "POST", "/api/v1/orders", "", `{}`, "X-Forwarded-For", "203.0.113.2"); rec.Code != 401 {
		t.Fatalf("second client behind the proxy: %d", rec.Code)
	}
}

func TestSecurityHeadersAndCORS(t *testing.T) {
	s := New(nil, nil, Config{Auth: hsAuth(t), CORSOrigins: []string{"https://shop.example"}})
	rec := request(t, s, "GET", "/api/v1/nope", "", "")
	h := rec.Header()
	for name, want := range map[string]string{
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
		"Referrer-Policy": "strict-origin-when-cross-origin",
	} {
		if h.Get(name) != want {
			t.Errorf("%s: %q", name, h.Get(name))
		}
	}
	csp := h.Get("Content-Security-Policy")
	for _, part := range []string{"default-src 'self'", "frame-ancestors 'none'", "https://js.tosspayments.com", "object-src 'none'"} {
		if !strings.Contains(csp, part) {
			t.Errorf("CSP lacks %q: %s", part, csp)
		}
	}
	if strings.Contains(csp, "'unsafe-inline'") && strings.Contains(strings.Split(strings.Split(csp, "script-src")[1], ";")[0], "unsafe") {
		t.Errorf("CSP allows inline script: %s", csp)
	}

	preflight := func(origin string) http.Header {
		return request(t, s, "OPTIONS", "/api/v1/orders", "", "", "Origin", origin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type").Header()
	}
	if h := preflight("https://shop.example"); h.Get("Access-Control-Allow-Origin") != "https://shop.example" ||
		!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Errorf("allowed origin: %v", h)
	}
	if h := preflight("https://evil.example"); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin allowed: %v", h)
	}
	if _, err := ParseOrigins("*"); err == nil {
		t.Error("wildcard origin accepted")
	}
	if o, err := ParseOrigins("https://a.example, http://127.0.0.1:8233"); err != nil || len(o) != 2 {
		t.Errorf("origins: %v %v", o, err)
	}
}

func TestCodecEndpoint_OperatorsOnly(t *testing.T) {
	a := hsAuth(t)
	c, err := codec.New(codec.NewKey("k1"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(nil, nil, Config{Auth: a, Codec: c}).Handler())
	defer srv.Close()
	sealed, err := codec.DataConverter(c).ToPayload(map[string]any{"paymentKey": "tsim_123", "amount": 39000})
	if err != nil {
		t.Fatal(err)
	}
	decodeWith := func(token string) (*commonpb.Payload, error) {
		remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
			Endpoint: srv.URL + "/api/v1/codec",
			ModifyRequest: func(r *http.Request) error {
				if token != "" {
					r.Header.Set("Authorization", "Bearer "+token)
				}
				r.Header.Set("X-Namespace", "default")
				return nil
			},
		})
		out, err := remote.Decode([]*commonpb.Payload{sealed})
		if err != nil {
			return nil, err
		}
		return out[0], nil
	}
	customer, _ := a.IssueToken("1", "", time.Minute)
	operator, _ := a.IssueToken("ops", RoleOperator, time.Minute)
	if _, err := decodeWith(""); err == nil || !strings.Contains(err.Error(), CodeUnauthorized) {
		t.Fatalf("no token: %v", err)
	}
	if _, err := decodeWith(customer); err == nil || !strings.Contains(err.Error(), CodeForbidden) {
		t.Fatalf("customer token: %v", err)
	}
	p, err := decodeWith(operator)
	if err != nil || !bytes.Contains(p.Data, []byte("tsim_123")) {
		t.Fatalf("operator: %v %v", p, err)
	}
	// Dev routes exist only when asked for.
	for _, path := range []string{"/api/v1/dev/token", "/api/v1/dev/codec/decode"} {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(`{"userId":1}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s on a production API: %d", path, resp.StatusCode)
		}
	}
}

// The operator role moves money, so it is accepted only from the operators' issuer and
// audience, from a token that says when it was issued and lives at most the cap; anything
// else claiming it is refused on the operator routes, and is no customer either.
func TestAuth_OperatorRole_OnlyFromOperatorsIssuerWithinTheCap(t *testing.T) {
	a := hsAuth(t)
	s := New(nil, nil, Config{Auth: a})
	now := time.Now()
	claims := func(iss, aud string, iat *time.Time, ttl time.Duration) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "kim.ops", "role": RoleOperator, "iss": iss, "exp": now.Add(ttl).Unix()}
		if aud != "" {
			c["aud"] = aud
		}
		if iat != nil {
			c["iat"] = iat.Unix()
		}
		return c
	}
	cases := []struct {
		name   string
		claims jwt.MapClaims
		want   int
	}{
		{"the operators' issuer, 10 minutes", claims("paysaga-test-operators", "paysaga-admin", &now, 10*time.Minute), http.StatusNotFound},
		{"exactly the cap", claims("paysaga-test-operators", "paysaga-admin", &now, DefaultOperatorTokenMaxTTL), http.StatusNotFound},
		{"the customers' issuer", claims("paysaga-test", "", &now, 10*time.Minute), http.StatusForbidden},
		{"the operators' issuer, another audience", claims("paysaga-test-operators", "paysaga", &now, 10*time.Minute), http.StatusUnauthorized},
		// From the operators' source a token is only good as an operator's: breaking the
		// cap makes it no token at all.
		{"a day long", claims("paysaga-test-operators", "paysaga-admin", &now, 24*time.Hour), http.StatusUnauthorized},
		{"no iat", claims("paysaga-test-operators", "paysaga-admin", nil, 10*time.Minute), http.StatusUnauthorized},
		{"an unknown issuer", claims("evil", "paysaga-admin", &now, 10*time.Minute), http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := sign(t, jwt.SigningMethodHS256, testSecret, c.claims)
			// An admin route on a malformed order ID: 404 once the operator is let in.
			rec := request(t, s, "POST", "/api/v1/admin/orders/x/resolve", tok, `{"note":"n"}`)
			if rec.Code != c.want {
				t.Fatalf("want %d, got %d %s", c.want, rec.Code, rec.Body)
			}
		})
	}
	// The operator role from the customers' issuer does not fall back to a customer.
	shop := sign(t, jwt.SigningMethodHS256, testSecret, claims("paysaga-test", "", &now, 10*time.Minute))
	if rec := request(t, s, "POST", "/api/v1/orders/ord_abcdef/cancel", shop, `{"cancelReason":"x"}`); rec.Code != http.StatusForbidden {
		t.Fatalf("cancel with the operator role from the shop's login: %d %s", rec.Code, rec.Body)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{"": {}, "0": {}, "5": {5, 5}, "5:20": {5, 20}, "0.5:3": {0.5, 3}} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"x", "-1", "5:0", "5:x", "NaN", "Inf"} {
		if _, err := ParseRate(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// A limit is one budget whatever the path: alternating the create route and its alias, or
// create and confirm, does not buy more requests.
func TestRateLimits_SharedAcrossRoutes(t *testing.T) {
	a := hsAuth(t)
	s := New(nil, nil, Config{Auth: a, RateLimitPerIP: Rate{PerSecond: 0.1, Burst: 2}})
	var codes []int
	for _, path := range []string{"/api/v1/orders", "/api/v1/orders/create", "/api/v1/orders/confirm"} {
		codes = append(codes, request(t, s, "POST", path, "", `{}`).Code)
	}
	if codes[0] != http.StatusUnauthorized || codes[1] != http.StatusUnauthorized || codes[2] != http.StatusTooManyRequests {
		t.Fatalf("per IP over three routes with a burst of 2: %v", codes)
	}
}
