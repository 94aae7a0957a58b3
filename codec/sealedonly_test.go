package codec

import (
	"errors"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

type plaintextClaim claim

func (*plaintextClaim) PlaintextAllowed() {}

func TestSealedOnly_PlaintextRefusedAndCounted_SealedRead(t *testing.T) {
	c := mustCodec(t, NewKey("k1"))
	refusals := 0
	dc := SealedOnlyDataConverter(c, func(err error) {
		if !errors.Is(err, ErrNotSealed) {
			t.Errorf("refusal %v", err)
		}
		refusals++
	})
	in := claim{OrderID: "ord_abcdefgh", UserID: 7, PaymentKey: "tsim_k", Amount: "1000"}

	plain, err := converter.GetDefaultDataConverter().ToPayloads(in)
	if err != nil {
		t.Fatal(err)
	}
	var out claim
	if err := dc.FromPayloads(plain, &out); !errors.Is(err, ErrNotSealed) {
		t.Fatalf("plaintext read as %+v, %v", out, err)
	}
	if err := dc.FromPayload(plain.Payloads[0], &out); !errors.Is(err, ErrNotSealed) {
		t.Fatalf("plaintext payload read as %+v, %v", out, err)
	}
	if refusals != 2 {
		t.Fatalf("%d refusals counted, want 2", refusals)
	}

	sealed, err := dc.ToPayloads(in)
	if err != nil {
		t.Fatal(err)
	}
	if !Sealed(sealed.Payloads[0]) {
		t.Fatal("written unsealed")
	}
	if err := dc.FromPayloads(sealed, &out); err != nil || out != in {
		t.Fatalf("sealed read as %+v, %v", out, err)
	}

	// A payload sealed with a key this service does not hold is refused as well.
	foreign, _ := DataConverter(mustCodec(t, NewKey("other"))).ToPayloads(in)
	if err := dc.FromPayloads(foreign, &out); err == nil {
		t.Fatal("payload sealed with a foreign key read")
	}
}

func TestSealedOnly_ValueThatAllowsPlaintext_ReadsBoth(t *testing.T) {
	c := mustCodec(t, NewKey("k1"))
	dc := SealedOnlyDataConverter(c, func(error) { t.Error("refused") })
	in := claim{OrderID: "ord_abcdefgh", Amount: "1000"}
	plain, _ := converter.GetDefaultDataConverter().ToPayloads(in)
	sealed, _ := dc.ToPayloads(in)
	for name, ps := range map[string]*commonpb.Payloads{"plain": plain, "sealed": sealed} {
		var out claim
		if err := dc.FromPayloads(ps, (*plaintextClaim)(&out)); err != nil || out != in {
			t.Fatalf("%s: %+v, %v", name, out, err)
		}
	}
}

func TestCodec_DecodeForOperators_StillShowsPlaintext(t *testing.T) {
	// The codec endpoint decodes with the codec itself: an operator must see what a
	// stranger sent, not an error.
	plain, _ := converter.GetDefaultDataConverter().ToPayload("hello")
	out, err := mustCodec(t, NewKey("k1")).Decode([]*commonpb.Payload{plain})
	if err != nil || string(out[0].Data) != `"hello"` {
		t.Fatalf("%v, %v", out, err)
	}
}
