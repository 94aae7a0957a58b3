package api

import (
	_ "embed"
	"fmt"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
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

var openapiJSON = sync.OnceValues(func() ([]byte, error) {
	doc, err := openapiDoc()
	if err != nil {
		return nil, err
	}
	return doc.MarshalJSON()
})

// OpenAPI returns the API's OpenAPI 3 document, parsed.
func OpenAPI() (*openapi3.T, error) { return openapiDoc() }

// OpenAPIYAML returns the document as written.
func OpenAPIYAML() []byte { return openapiYAML }

func (s *Server) openapiJSON(c echo.Context) error {
	b, err := openapiJSON()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}

func (s *Server) openapiYAML(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", openapiYAML)
}
