package stacktest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Client is every HTTP call a shopper makes — to the API, to the simulator's payment window,
// to the benchmark's baseline — so that what a call carries (JSON, the bearer token) and
// how its answer is read are decided in one place.
type Client struct {
	HTTP *http.Client
	// Token is the bearer token; empty sends none (the simulator takes none).
	Token string
	// TossSecretKey, when set, is sent as Toss's Basic credentials instead: a call to Toss's
	// own API, as the merchant's console makes it, behind paysaga's back.
	TossSecretKey string
	// Check, when set, sees every exchange, for suites that hold each one against the API's
	// OpenAPI document. reqBody is what was sent; the request's own body is spent.
	Check func(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte)
}

// NewHTTPClient is a transport for buyers calling at once: enough idle connections per host
// that many buyers reuse theirs instead of opening a new one per call, which would measure
// the kernel's TCP handshakes rather than the stack. It never goes through a proxy from
// the environment: the stacks are on loopback.
func NewHTTPClient(buyers int) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4*buyers + 16,
		MaxIdleConnsPerHost: 2*buyers + 8,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}
}

// testHTTP is the transport of the tests' shoppers, shared so that connections are reused.
var testHTTP = NewHTTPClient(32)

// WithToken is a client on the same transport that sends token.
func (c *Client) WithToken(token string) *Client {
	return &Client{HTTP: c.HTTP, Token: token, TossSecretKey: c.TossSecretKey, Check: c.Check}
}

// Answer is what one call got back.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// maxAnswer bounds what is read of an answer: the API's are a few hundred bytes.
const maxAnswer = 1 << 20

// Send sends in as JSON (nil: no body) with the extra header lines and returns the answer,
// whatever its status. Its error is the transport's.
func (c *Client) Send(ctx context.Context, method, url string, in any, header http.Header) (Answer, error) {
	var body []byte
	var r io.Reader
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return Answer{}, err
		}
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return Answer{}, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.TossSecretKey != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.TossSecretKey+":")))
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	hc := c.HTTP
	if hc == nil {
		hc = testHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	a := Answer{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if err != nil {
		return a, fmt.Errorf("%s %s: read answer: %w", method, url, err)
	}
	if c.Check != nil {
		c.Check(req, body, resp, raw)
	}
	return a, nil
}

// HTTPError is an answer outside 2xx: its status and the API's stable code.
type HTTPError struct {
	Status  int
	Code    string
	Message string
}

func (e *HTTPError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Kind is how errors are counted in reports: "409 ORDER_NOT_CONFIRMABLE", "HTTP 500".
func (e *HTTPError) Kind() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Code)
}

// Call sends in as JSON (nil: no body) and decodes a 2xx answer into out (nil: ignored). It
// returns the status; an answer outside 2xx is an *HTTPError.
func (c *Client) Call(ctx context.Context, method, url string, in, out any) (int, error) {
	a, err := c.Send(ctx, method, url, in, nil)
	if err != nil {
		return a.Status, err
	}
	if a.Status < 200 || a.Status > 299 {
		e := &HTTPError{Status: a.Status}
		var wrapped APIError
		if json.Unmarshal(a.Body, &wrapped) == nil {
			e.Code, e.Message = wrapped.Code, wrapped.Message
		}
		return a.Status, e
	}
	if out != nil && len(a.Body) > 0 {
		if err := json.Unmarshal(a.Body, out); err != nil {
			return a.Status, fmt.Errorf("%s %s: decode answer: %w", method, url, err)
		}
	}
	return a.Status, nil
}

// DevToken asks the dev stack at apiURL for a bearer token: claims is {"userId": n} for a
// shopper, {"role": "operator"} for an operator. A stack without the endpoint (404/405),
// such as the production API, hands out none: the token is then empty.
func DevToken(ctx context.Context, c *Client, apiURL string, claims map[string]any) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	_, err := c.Call(ctx, http.MethodPost, apiURL+"/api/v1/dev/token", claims, &out)
	var he *HTTPError
	if errors.As(err, &he) && (he.Status == http.StatusNotFound || he.Status == http.StatusMethodNotAllowed) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("dev token for %v: %w", claims, err)
	}
	return out.Token, nil
}
