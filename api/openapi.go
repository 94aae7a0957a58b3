package api

import (
	_ "embed"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"sigs.k8s.io/yaml"
)

// openapiYAML is the API's OpenAPI 3 document. Tests keep it true: every registered route
// is in it and every integration-test response validates against it.
//
//go:embed openapi.yaml
var openapiYAML []byte

var openapiDoc = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openapiYAML)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	return doc, nil
})

// OpenAPI returns the API's OpenAPI 3 document, parsed.
func OpenAPI() (*openapi3.T, error) { return openapiDoc() }

// OpenAPIYAML returns the document as written.
func OpenAPIYAML() []byte { return openapiYAML }

// servedDocument is the document of what this server serves: built once, from the
// document as written, keeping only the paths this server routes. A production API routes
// no dev endpoints and no /metrics, and a document that listed them would invite clients to
// look for them.
func (s *Server) servedDocument() (jsonDoc, yamlDoc []byte, err error) {
	s.openapiOnce.Do(func() {
		s.openapiJSONDoc, s.openapiYAMLDoc, s.openapiErr = documentOf(s.echo.Routes())
	})
	return s.openapiJSONDoc, s.openapiYAMLDoc, s.openapiErr
}

// documentOf is the document as written, less the paths no route serves.
func documentOf(routes []*echo.Route) (jsonDoc, yamlDoc []byte, err error) {
	doc, err := openapi3.NewLoader().LoadFromData(openapiYAML)
	if err != nil {
		return nil, nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	served := map[string]bool{}
	for _, r := range routes {
		served[pathTemplate(r.Path)] = true
	}
	for path := range doc.Paths.Map() {
		if !served[path] {
			doc.Paths.Delete(path)
		}
	}
	if jsonDoc, err = doc.MarshalJSON(); err != nil {
		return nil, nil, err
	}
	if yamlDoc, err = yaml.JSONToYAML(jsonDoc); err != nil {
		return nil, nil, err
	}
	return jsonDoc, yamlDoc, nil
}

// pathTemplate writes echo's /orders/:orderId as OpenAPI's /orders/{orderId}, and /assets/*
// as /assets/{path}.
func pathTemplate(route string) string {
	segs := strings.Split(route, "/")
	for i, seg := range segs {
		switch {
		case strings.HasPrefix(seg, ":"):
			segs[i] = "{" + seg[1:] + "}"
		case seg == "*": // a static folder: the document names the rest of the path {path}
			segs[i] = "{path}"
		}
	}
	return strings.Join(segs, "/")
}

func (s *Server) openapiJSON(c echo.Context) error {
	b, _, err := s.servedDocument()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}

func (s *Server) openapiYAML(c echo.Context) error {
	_, b, err := s.servedDocument()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/yaml", b)
}
