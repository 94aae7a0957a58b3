package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
)

// The OpenAPI document served at /api/openapi.json is kept true two ways: the routes the
// running server registered are exactly the document's operations (this test), and every
// response an integration test gets through checkout.call validates against it
// (conformsToOpenAPI).

func TestOpenAPI_EveryRegisteredRouteIsDocumentedAndNoMore(t *testing.T) {
	s := stackFor(t, "sqlite")
	doc := servedOpenAPI(t, s.APIURL)
	registered := map[string]bool{}
	for _, r := range s.API.Routes() {
		if r.Method == echo.RouteNotFound {
			continue // echo's own not-found handlers of groups, not routes
		}
		op := r.Method + " " + openapiPath(r.Path)
		registered[op] = true
		item := doc.Paths.Value(openapiPath(r.Path))
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s %s is registered but not in api/openapi.yaml", r.Method, r.Path)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !registered[method+" "+path] {
				t.Errorf("api/openapi.yaml documents %s %s, which the server does not register", method, path)
			}
		}
	}
	if len(registered) < 10 {
		t.Fatalf("only %d routes registered: the route list is not what it seems", len(registered))
	}
}

// openapiPath writes an echo route in OpenAPI's form: /orders/:orderId → /orders/{orderId},
// and a trailing wildcard /assets/* → /assets/{path}.
func openapiPath(echoPath string) string {
	segs := strings.Split(echoPath, "/")
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, ":"):
			segs[i] = "{" + s[1:] + "}"
		case s == "*":
			segs[i] = "{path}"
		}
	}
	return strings.Join(segs, "/")
}

// The document's operations, checked against the status and body of a live server for the
// routes no other test calls through checkout.call.
func TestOpenAPI_OperationsEndpointsAnswerAsDocumented(t *testing.T) {
	s := stackFor(t, "sqlite")
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/api/openapi.json", "/api/openapi.yaml", "/api/v1/checkout/config", "/", "/success"} {
		req, err := http.NewRequest(http.MethodGet, s.APIURL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
		if err := validateExchange(s.APIURL, req, nil, resp, body); err != nil {
			t.Errorf("GET %s: %v", path, err)
		}
	}
}

// servedOpenAPI loads the document the API serves, with the server's own address so that
// requests to it find their routes.
func servedOpenAPI(t *testing.T, apiURL string) *openapi3.T {
	t.Helper()
	doc, err := loadServedOpenAPI(apiURL)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func loadServedOpenAPI(apiURL string) (*openapi3.T, error) {
	resp, err := http.Get(apiURL + "/api/openapi.json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/openapi.json: %s", resp.Status)
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("the served document does not load: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the served document is not valid OpenAPI 3: %w", err)
	}
	doc.Servers = openapi3.Servers{{URL: apiURL}}
	return doc, nil
}

func init() {
	// The checkout pages are documented as text/html; their bodies are strings to the validator.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
}

var (
	routersMu sync.Mutex
	apiRouter = map[string]routers.Router{} // by API base URL
)

func routerFor(apiURL string) (routers.Router, error) {
	routersMu.Lock()
	defer routersMu.Unlock()
	if r, ok := apiRouter[apiURL]; ok {
		return r, nil
	}
	doc, err := loadServedOpenAPI(apiURL)
	if err != nil {
		return nil, err
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	apiRouter[apiURL] = r
	return r, nil
}

// conformsToOpenAPI holds one exchange of the checkout with the API to the document.
func (c *checkout) conformsToOpenAPI(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	c.t.Helper()
	if err := validateExchange(c.stack.APIURL, req, reqBody, resp, respBody); err != nil {
		c.t.Errorf("%s %s does not conform to api/openapi.yaml: %v", req.Method, req.URL.Path, err)
	}
}

// validateExchange checks a request and its answer against the served document: the
// answer's status must be documented and its body must match the schema; a request the
// document calls invalid must have been refused with a 4xx.
func validateExchange(apiURL string, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) error {
	router, err := routerFor(apiURL)
	if err != nil {
		return err
	}
	ctx := context.Background()
	vreq := req.Clone(ctx)
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := router.FindRoute(vreq)
	if err != nil {
		if slices.Contains([]int{http.StatusNotFound, http.StatusMethodNotAllowed}, resp.StatusCode) {
			return nil // an unknown route, answered as one
		}
		return fmt.Errorf("answered %d on a route the document does not have (%v)", resp.StatusCode, err)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if reqErr := openapi3filter.ValidateRequest(ctx, in); reqErr != nil && resp.StatusCode < 400 {
		return fmt.Errorf("accepted (%d) a request the document calls invalid: %v", resp.StatusCode, reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(respBody)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("answer %d %s: %v", resp.StatusCode, truncateBody(respBody), err)
	}
	return nil
}

func truncateBody(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
