package api

import (
	"context"
	"encoding/json"
	"testing"
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
	b, err := openapiJSON()
	if err != nil {
		t.Fatal(err)
	}
	var asJSON map[string]any
	if err := json.Unmarshal(b, &asJSON); err != nil {
		t.Fatalf("the JSON form does not parse: %v", err)
	}
	if asJSON["openapi"] != "3.0.3" || len(asJSON["paths"].(map[string]any)) != doc.Paths.Len() {
		t.Fatalf("the JSON form differs from the document: openapi %v, %d paths", asJSON["openapi"], len(asJSON["paths"].(map[string]any)))
	}
}
