package api

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/labstack/echo/v4"
	"sigs.k8s.io/yaml"
)

// The document parses and is a valid OpenAPI 3 document; its JSON form says the same.
func TestOpenAPI_DocumentIsValid(t *testing.T) {
	doc, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid OpenAPI 3: %v", err)
	}
	// The served forms keep the paths a server routes and drop the rest.
	routes := []*echo.Route{{Method: "POST", Path: "/api/v1/orders/:orderId/cancel"}, {Method: "GET", Path: "/healthz"}}
	b, y, err := documentOf(routes)
	if err != nil {
		t.Fatal(err)
	}
	for name, form := range map[string][]byte{"JSON": b, "YAML": y} {
		var asMap map[string]any
		var err error
		if name == "JSON" {
			err = json.Unmarshal(b, &asMap)
		} else {
			err = yaml.Unmarshal(y, &asMap)
		}
		if err != nil {
			t.Fatalf("the %s form does not parse: %v\n%.300s", name, err, form)
		}
		paths, _ := asMap["paths"].(map[string]any)
		if asMap["openapi"] != "3.0.3" || len(paths) != 2 || paths["/api/v1/orders/{orderId}/cancel"] == nil || paths["/healthz"] == nil {
			t.Fatalf("the %s form: openapi %v, paths %v", name, asMap["openapi"], paths)
		}
	}
}
