package bench

import (
	"context"
	"errors"
	"net/http"

	"github.com/paysaga/paysaga/internal/stacktest"
)

// apiClient is every HTTP call the harness makes — the tests' shopper client, so that a
// benchmark's buyer calls the API exactly as the tests' shoppers do.
type apiClient struct {
	*stacktest.Client
}

// newHTTPClient is the transport the buyers share (see stacktest.NewHTTPClient).
func newHTTPClient(buyers int) *http.Client { return stacktest.NewHTTPClient(buyers) }

// withToken returns a client for the same transport that sends token.
func (c *apiClient) withToken(token string) *apiClient {
	return &apiClient{c.WithToken(token)}
}

// httpError is an answer outside 2xx: its status and the API's stable code.
type httpError struct {
	stacktest.HTTPError
}

// kind is how errors are counted in the report: "409 ORDER_NOT_CONFIRMABLE", "HTTP 500".
func (e *httpError) kind() string { return e.Kind() }

// call sends in as JSON (nil: no body) and decodes a 2xx answer into out (nil: ignored). It
// returns the status; an answer outside 2xx is an *httpError.
func (c *apiClient) call(ctx context.Context, method, url string, in, out any) (int, error) {
	status, err := c.Call(ctx, method, url, in, out)
	if he, ok := errors.AsType[*stacktest.HTTPError](err); ok {
		return status, &httpError{*he}
	}
	return status, err
}

// devToken asks the dev stack for a buyer's bearer token. A stack without the endpoint
// (404/405) takes none: the token is then empty and nothing is sent.
func devToken(ctx context.Context, c *apiClient, apiURL string, userID int64) (string, error) {
	return stacktest.DevToken(ctx, c.Client, apiURL, map[string]any{"userId": userID})
}
