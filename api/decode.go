package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/shopspring/decimal"

	"github.com/paysaga/paysaga"
)

// maxBody bounds every request body: the largest honest request is a few hundred bytes.
const maxBody = 16 << 10

// readBody reads the request body up to limit bytes. A longer body is 413, so a client
// learns its request was too large rather than malformed.
func readBody(c echo.Context, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, echo.NewHTTPError(http.StatusRequestEntityTooLarge)
		}
		return nil, paysaga.Errorf(paysaga.CodeInvalidRequest, "could not read the request body")
	}
	return body, nil
}

// decodeJSON reads exactly one JSON object into v, refusing unknown fields and trailing
// data, and names the offending field in the error.
func decodeJSON(c echo.Context, v any) error {
	body, err := readBody(c, maxBody)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "%s", describeJSONError(err))
	}
	if dec.More() {
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "the body must be a single JSON object")
	}
	if err := refuseRepeatedNames(json.NewDecoder(bytes.NewReader(body))); err != nil {
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "%s", describeJSONError(err))
	}
	return nil
}

// refuseRepeatedNames walks one JSON value and refuses an object that names a member twice,
// in any letter case. encoding/json matches names case-insensitively and keeps the last, so
// {"amount":1,"Amount":1000} would be 1,000 to us and may be 1 to a proxy, a WAF or a log
// reader that takes the first: one request must mean one thing to everyone who reads it.
func refuseRepeatedNames(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			name, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := name.(string)
			// Upper then lower folds what encoding/json folds (ſ and S, K and k).
			folded := strings.ToLower(strings.ToUpper(key))
			if seen[folded] {
				return &fieldError{field: quoteField(key), problem: "given more than once (names are matched in any letter case)"}
			}
			seen[folded] = true
			if err := refuseRepeatedNames(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('['):
		for dec.More() {
			if err := refuseRepeatedNames(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	return nil
}

func describeJSONError(err error) string {
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
		fieldErr  *fieldError
	)
	switch {
	case errors.As(err, &fieldErr):
		return fieldErr.Error()
	case errors.As(err, &typeErr):
		return fmt.Sprintf("field %s: expected %s", typeErr.Field, typeErr.Type)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("malformed JSON at byte %d", syntaxErr.Offset)
	case errors.Is(err, io.EOF):
		return "the body is empty; a JSON object is required"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + quoteField(strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return "malformed JSON"
	}
}

// fieldError is a decoding error that already names its field.
type fieldError struct {
	field, problem string
}

func (e *fieldError) Error() string { return "field " + e.field + ": " + e.problem }

// userID is an ID that arrives as a JSON number or, from pages that copy it from a URL or a
// token, as a string of digits.
type userID int64

func (id *userID) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if unq, err := strconv.Unquote(s); err == nil {
		s = unq
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return &fieldError{field: "userId", problem: "must be a positive integer"}
	}
	*id = userID(n)
	return nil
}

// amount is a KRW amount that arrives as a JSON number or a numeric string: the redirect
// from the payment window carries it as a string.
type amount struct {
	decimal.Decimal
	set bool
}

func (a *amount) UnmarshalJSON(b []byte) error { return a.decode(b, "amount") }

// decode reads b into a, naming field in its error.
func (a *amount) decode(b []byte, field string) error {
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if unq, err := strconv.Unquote(s); err == nil {
		s = unq
	}
	// Plain decimal notation only: "1e4", "0x10", " 10" and friends are refused rather
	// than read into a number that may differ from what the client's other layers saw.
	if len(s) > 20 || !plainDecimal.MatchString(s) {
		return &fieldError{field: field, problem: "must be a number in plain decimal notation"}
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return &fieldError{field: field, problem: "must be a number in plain decimal notation"}
	}
	a.Decimal, a.set = d, true
	return nil
}

// cancelAmount is the amount of a partial refund: an amount, named so in its errors.
type cancelAmount struct{ amount }

func (a *cancelAmount) UnmarshalJSON(b []byte) error { return a.decode(b, "cancelAmount") }

var plainDecimal = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// DefaultMaxAmount bounds one order when the configuration says nothing: far above any
// honest basket of the shop (100 × its dearest product), far below what would overflow
// anything downstream.
var DefaultMaxAmount = decimal.NewFromInt(10_000_000)

// checkAmount is the amount rule of every request: present, whole won, positive, at most
// the configured maximum. field names the amount in the error.
func (s *Server) checkAmount(field string, a amount) error {
	if !a.set {
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "field %s: required", field)
	}
	if err := paysaga.ValidateKRW(a.Decimal); err != nil {
		var e *paysaga.Error
		if errors.As(err, &e) {
			return paysaga.Errorf(paysaga.CodeInvalidRequest, "field %s: %s", field, e.Message)
		}
		return err
	}
	if a.GreaterThan(s.cfg.MaxAmount) {
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "field %s: must be at most %s", field, s.cfg.MaxAmount)
	}
	return nil
}

// quoteField makes a client-chosen field name safe to echo: valid UTF-8 and short, so an
// error message can neither carry garbage nor grow with the request.
func quoteField(name string) string {
	name = strings.ToValidUTF8(name, "?")
	if r := []rune(name); len(r) > 64 {
		name = string(r[:64]) + "…"
	}
	return name
}
