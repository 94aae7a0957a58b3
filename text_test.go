package paysaga

import (
	"strings"
	"testing"
)

func TestCheckText_RefusesControlCharactersAndBadLengths(t *testing.T) {
	for _, s := range []string{"단순 변심", "Changed my mind — 42", strings.Repeat("가", 200)} {
		if err := CheckText("cancelReason", s, 200); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "x\x00", "\x00", "line\nforged: entry", "tab\there", "bell\a", "del\x7f", "c1\u0085", "bad\xffutf8", strings.Repeat("가", 201)} {
		err := CheckText("cancelReason", s, 200)
		if ErrorCode(err) != CodeInvalidRequest || !strings.Contains(err.Error(), "field cancelReason") {
			t.Errorf("%q: want INVALID_REQUEST naming the field, got %v", s, err)
		}
	}
}
