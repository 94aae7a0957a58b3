package paysaga

import (
	"unicode"
	"unicode/utf8"
)

// CheckText is the rule for free text people type — a cancel reason, an operator's note or
// name: present, at most max characters, valid UTF-8 and free of control characters. A NUL
// byte is refused by PostgreSQL's text columns (a step that writes it would fail on every
// retry), and other control characters forge lines in logs and terminals that operators read.
// field names the text in the error.
func CheckText(field, s string, max int) error {
	n := utf8.RuneCountInString(s)
	if n < 1 || n > max {
		return Errorf(CodeInvalidRequest, "field %s: required, 1–%d characters", field, max)
	}
	if !utf8.ValidString(s) {
		return Errorf(CodeInvalidRequest, "field %s: must be valid UTF-8", field)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return Errorf(CodeInvalidRequest, "field %s: must not contain control characters (U+%04X)", field, r)
		}
	}
	return nil
}
