package codec

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

type claim struct {
	OrderID    string
	UserID     int64
	PaymentKey string
	Amount     string
}

func mustCodec(t *testing.T, keys ...Key) *Codec {
	t.Helper()
	c, err := New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCodec_RoundTripHidesEverything(t *testing.T) {
	key := NewKey("k1")
	dc := DataConverter(mustCodec(t, key))
	in := claim{OrderID: "ord_abcdefgh", UserID: 424242, PaymentKey: "tsim_secret_key_value", Amount: "78000"}
	p, err := dc.ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(p.Metadata[MetadataEncoding]); got != EncodingEncrypted {
		t.Fatalf("encoding %q", got)
	}
	if got := string(p.Metadata[MetadataKeyID]); got != "k1" {
		t.Fatalf("key id %q", got)
	}
	for _, plain := range []string{"ord_abcdefgh", "424242", "tsim_secret_key_value", "78000", "json/plain", "PaymentKey"} {
		if bytes.Contains(p.Data, []byte(plain)) {
			t.Fatalf("sealed payload shows %q", plain)
		}
	}
	var out claim
	if err := dc.FromPayload(p, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("round trip: %+v", out)
	}
	// Two seals of the same value differ (fresh nonce), so equal amounts are not visible
	// as equal ciphertexts either.
	p2, _ := dc.ToPayload(in)
	if bytes.Equal(p.Data, p2.Data) {
		t.Fatal("same ciphertext twice")
	}
}

func TestCodec_RotationOldKeyStillOpens(t *testing.T) {
	old, next := NewKey("2025-01"), NewKey("2025-07")
	sealedOld, err := mustCodec(t, old).Encode([]*commonpb.Payload{{Data: []byte(`"hello"`), Metadata: map[string][]byte{"encoding": []byte("json/plain")}}})
	if err != nil {
		t.Fatal(err)
	}
	rotated := mustCodec(t, next, old)
	if rotated.KeyID() != "2025-07" {
		t.Fatalf("seals with %s", rotated.KeyID())
	}
	opened, err := rotated.Decode(sealedOld)
	if err != nil {
		t.Fatal(err)
	}
	if string(opened[0].Data) != `"hello"` {
		t.Fatalf("opened %q", opened[0].Data)
	}
	sealedNew, _ := rotated.Encode(opened)
	if string(sealedNew[0].Metadata[MetadataKeyID]) != "2025-07" {
		t.Fatal("new payloads not sealed with the first key")
	}
	// Once the old key is dropped, its payloads refuse to open, naming the key.
	_, err = mustCodec(t, next).Decode(sealedOld)
	if err == nil || !strings.Contains(err.Error(), "2025-01") {
		t.Fatalf("want an error naming the missing key, got %v", err)
	}
}

func TestCodec_TamperingIsDetected(t *testing.T) {
	a, b := NewKey("a"), NewKey("b")
	c := mustCodec(t, a, b)
	sealed, err := c.Encode([]*commonpb.Payload{{Data: []byte("42")}})
	if err != nil {
		t.Fatal(err)
	}
	flip := func(f func(p *commonpb.Payload)) *commonpb.Payload {
		p := &commonpb.Payload{Metadata: map[string][]byte{}, Data: bytes.Clone(sealed[0].Data)}
		for k, v := range sealed[0].Metadata {
			p.Metadata[k] = v
		}
		f(p)
		return p
	}
	cases := map[string]*commonpb.Payload{
		"bit flipped":    flip(func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 1 }),
		"key ID swapped": flip(func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("b") }),
		"truncated":      flip(func(p *commonpb.Payload) { p.Data = p.Data[:5] }),
		"unknown key":    flip(func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("zzz") }),
	}
	for name, p := range cases {
		if _, err := c.Decode([]*commonpb.Payload{p}); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func TestCodec_PlainPayloadsPassThrough(t *testing.T) {
	c := mustCodec(t, NewKey("k"))
	plain := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`{"note":"fixed by hand"}`)}
	out, err := c.Decode([]*commonpb.Payload{plain})
	if err != nil || out[0] != plain {
		t.Fatalf("plain payload: %v %v", out, err)
	}
}

func TestFailureConverter_EncodesMessages(t *testing.T) {
	dc := DataConverter(mustCodec(t, NewKey("k")))
	fc := FailureConverter(dc)
	f := fc.ErrorToFailure(temporal.NewNonRetryableApplicationError("amount 1000 does not match the order's 39000", "AMOUNT_MISMATCH", nil))
	if strings.Contains(f.String(), "39000") {
		t.Fatalf("failure shows the amount: %s", f)
	}
	if f.GetApplicationFailureInfo().GetType() != "AMOUNT_MISMATCH" {
		t.Fatal("the code must stay readable: the API maps it")
	}
	err := fc.FailureToError(f)
	if !strings.Contains(err.Error(), "39000") {
		t.Fatalf("decoded: %v", err)
	}
}

func TestParseKeys(t *testing.T) {
	k1, k2 := NewKey("k1"), NewKey("k2")
	keys, err := ParseKeys(" " + FormatKeys(k1, k2) + " ")
	if err != nil || len(keys) != 2 || keys[0].ID != "k1" || !bytes.Equal(keys[1].Secret, k2.Secret) {
		t.Fatalf("%v %v", keys, err)
	}
	short := base64.StdEncoding.EncodeToString([]byte("too short"))
	for _, spec := range []string{"", "nokey", "k1:%%%notbase64", "k1:" + short, "bad id!:" + base64.StdEncoding.EncodeToString(k1.Secret), FormatKeys(k1, k1)} {
		keys, err := ParseKeys(spec)
		if err == nil {
			_, err = New(keys...)
		}
		if err == nil {
			t.Errorf("%q: accepted", spec)
			continue
		}
		if strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(k1.Secret)) || strings.Contains(err.Error(), "notbase64") {
			t.Errorf("%q: error shows key material: %v", spec, err)
		}
	}
}

func TestKey_PrintsNoSecret(t *testing.T) {
	k := NewKey("k1")
	b64 := base64.StdEncoding.EncodeToString(k.Secret)
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k), fmt.Sprint([]Key{k})} {
		if strings.Contains(s, b64) || strings.Contains(s, string(k.Secret)) || strings.Contains(s, fmt.Sprint(k.Secret[:4])) {
			t.Fatalf("key printed its secret: %s", s)
		}
	}
}

func TestLoadOrCreateKeyFile_StableAcrossRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "codec.keys")
	first, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	second, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != 1 || second[0].ID != first[0].ID || !bytes.Equal(second[0].Secret, first[0].Secret) {
		t.Fatal("key changed between runs")
	}
}

var _ converter.PayloadCodec = (*Codec)(nil)
