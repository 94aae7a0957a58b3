package api

import (
	"strings"
	"testing"

	"github.com/paysaga/paysaga"
)

func TestDecode_NameGivenTwiceInAnyCase_Refused(t *testing.T) {
	valid := func(s *Server, r cancelRequest) error { return s.validCancel(&r) }
	for _, body := range []string{
		`{"cancelReason":"a","cancelReason":"b"}`,
		`{"cancelReason":"a","CancelReason":"b"}`,
		`{"cancelAmount":1,"cancelReason":"a","CANCELAMOUNT":1000}`,
		// ſ (long s) folds to s in encoding/json's matching, so this is cancelReason twice.
		`{"cancelReason":"a","cancelReaſon":"b"}`,
	} {
		_, err := decodeAs(t, []byte(body), valid)
		checkRefusal(t, []byte(body), err)
		if !strings.Contains(err.Error(), "more than once") {
			t.Errorf("%s: %v", body, err)
		}
	}
	if _, err := decodeAs(t, []byte(`{"cancelReason":"단순 변심","cancelAmount":"1000"}`), valid); err != nil {
		t.Fatalf("an honest body: %v", err)
	}
}

func TestDecode_ControlCharactersInText_Refused(t *testing.T) {
	valid := func(s *Server, r cancelRequest) error { return s.validCancel(&r) }
	for _, body := range []string{
		`{"cancelReason":"x\u0000"}`,
		`{"cancelReason":"first line\nsecond: forged"}`,
		`{"cancelReason":"\u001b[31mred"}`,
		`{"cancelReason":"ne\u0085l"}`,
	} {
		_, err := decodeAs(t, []byte(body), valid)
		checkRefusal(t, []byte(body), err)
		if paysaga.ErrorCode(err) != paysaga.CodeInvalidRequest || !strings.Contains(err.Error(), "control characters") {
			t.Errorf("%s: %v", body, err)
		}
	}
}
