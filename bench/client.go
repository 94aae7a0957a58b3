package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// apiClient is every HTTP call the harness makes, so that what a call carries (the bearer
// token today) is decided in one place.
type apiClient struct {
	http *http.Client
	// token is the buyer's bearer token; empty when the stack hands out none (a stack from
	// before the API's auth) or for the simulator, which does not take it.
	token string
}

// newHTTPClient is the transport the buyers share: enough idle connections per host that
// 64 buyers reuse theirs instead of opening a new one per call, which would measure the
// kernel's TCP handshakes rather than the stack.
func newHTTPClient(buyers int) *http.Client {
	tr := &http.Transport{
		Proxy:               nil, // loopback only, never through a proxy from the environment
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4*buyers + 16,
		MaxIdleConnsPerHost: 2*buyers + 8,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}
}

// withToken returns a client for the same transport that sends token.
func (c *apiClient) withToken(token string) *apiClient {
	return &apiClient{http: c.http, token: token}
}

// httpError is an answer outside 2xx: its status and the API's stable code.
type httpError struct {
	Status  int
	Code    string
	Message string
}

func (e *httpError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// kind is how errors are counted in the report: "409 ORDER_NOT_CONFIRMABLE", "HTTP 500".
func (e *httpError) kind() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Code)
}

// call sends in as JSON (nil: no body) and decodes a 2xx answer into out (nil: ignored). It
// returns the status; an answer outside 2xx is an *httpError.
func (c *apiClient) call(ctx context.Context, method, url string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: read answer: %w", method, url, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &httpError{Status: resp.StatusCode}
		var wrapped struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &wrapped) == nil {
			e.Code, e.Message = wrapped.Code, wrapped.Message
		}
		return resp.StatusCode, e
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, url, err)
		}
	}
	return resp.StatusCode, nil
}

// devToken asks the dev stack for a buyer's bearer token. A stack without the endpoint
// (404/405) takes none: the token is then empty and nothing is sent.
func devToken(ctx context.Context, c *apiClient, apiURL string, userID int64) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	_, err := c.call(ctx, http.MethodPost, apiURL+"/api/v1/dev/token", map[string]any{"userId": userID}, &out)
	var he *httpError
	if errors.As(err, &he) && (he.Status == http.StatusNotFound || he.Status == http.StatusMethodNotAllowed) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("dev token for user %d: %w", userID, err)
	}
	return out.Token, nil
}
