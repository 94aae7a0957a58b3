package codec

import (
	"errors"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

// ErrNotSealed is the refusal of a payload that none of the configured keys sealed.
var ErrNotSealed = errors.New("codec: refused a payload that is not sealed with a configured key")

// PlaintextAllowed is implemented by a value that may still be decoded from a payload the
// codec did not seal. Only workflow code keeping an older release's behaviour for an
// execution that began under it needs one; everything else is refused.
type PlaintextAllowed interface{ PlaintextAllowed() }

// Sealed reports whether p is a payload the codec sealed (with any key, configured or not).
func Sealed(p *commonpb.Payload) bool {
	return string(p.GetMetadata()[MetadataEncoding]) == EncodingEncrypted
}

// SealedOnlyDataConverter is the data converter of the API's and the workers' Temporal
// clients. It seals what it writes like DataConverter, but it refuses to read a payload
// that none of c's keys sealed, calling refused for each refusal. Anyone who can reach the
// Temporal frontend can start a workflow or send a signal with a plaintext payload; only
// paysaga and its operators (through the codec endpoint) hold the keys, so what is not
// sealed did not come from them. A workflow started that way fails before its first step;
// a signal that way is dropped by the SDK's signal channel, which logs it and never fails
// the workflow task over it (so nobody can freeze a running saga with one).
//
// The codec itself (Decode) keeps passing plaintext through: it is what the Web UI and the
// CLI read histories with, and an operator must be able to see what a stranger sent.
func SealedOnlyDataConverter(c *Codec, refused func(error)) converter.DataConverter {
	if refused == nil {
		refused = func(error) {}
	}
	return &sealedOnly{
		sealed:  converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), &sealedOnlyCodec{c, refused}),
		lenient: DataConverter(c),
	}
}

// sealedOnlyCodec opens only payloads that c sealed.
type sealedOnlyCodec struct {
	*Codec
	refused func(error)
}

func (s *sealedOnlyCodec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	for _, p := range payloads {
		if !Sealed(p) {
			s.refused(ErrNotSealed)
			return nil, ErrNotSealed
		}
	}
	return s.Codec.Decode(payloads)
}

// sealedOnly decodes with sealed, except into a value that allows plaintext.
type sealedOnly struct {
	sealed, lenient converter.DataConverter
}

func (d *sealedOnly) pick(valuePtrs ...any) converter.DataConverter {
	for _, v := range valuePtrs {
		if _, ok := v.(PlaintextAllowed); ok {
			return d.lenient
		}
	}
	return d.sealed
}

func (d *sealedOnly) ToPayload(value any) (*commonpb.Payload, error) {
	return d.sealed.ToPayload(value)
}
func (d *sealedOnly) ToPayloads(values ...any) (*commonpb.Payloads, error) {
	return d.sealed.ToPayloads(values...)
}
func (d *sealedOnly) FromPayload(p *commonpb.Payload, valuePtr any) error {
	return d.pick(valuePtr).FromPayload(p, valuePtr)
}
func (d *sealedOnly) FromPayloads(ps *commonpb.Payloads, valuePtrs ...any) error {
	return d.pick(valuePtrs...).FromPayloads(ps, valuePtrs...)
}

// ToString and ToStrings are for the SDK's log lines and error messages: they show a
// plaintext payload as it is, as the Web UI would.
func (d *sealedOnly) ToString(p *commonpb.Payload) string      { return d.lenient.ToString(p) }
func (d *sealedOnly) ToStrings(ps *commonpb.Payloads) []string { return d.lenient.ToStrings(ps) }
