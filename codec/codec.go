// Package codec encrypts Temporal payloads with AES-256-GCM, so that workflow histories —
// which hold the claim a customer confirmed (paymentKey, userId, amount) and every step's
// result — are ciphertext to anyone who can read the Temporal database or its Web UI
// without the key. The API and the worker install it on their Temporal client; the API
// serves it over HTTP (authenticated) for the Web UI and the `temporal` CLI.
//
// Keys rotate without downtime: every payload names the key that sealed it in its
// metadata, the first configured key seals, and every configured key opens. Add a new
// key in front, deploy, and drop the old one once no history still needs it.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Payload metadata written by the codec. The encoding tells every SDK and the Web UI that
// the data is not readable as is; the key ID picks the key that opens it.
const (
	MetadataEncoding  = converter.MetadataEncoding
	MetadataKeyID     = "encryption-key-id"
	MetadataCipher    = "encryption-cipher"
	EncodingEncrypted = "binary/encrypted"
	Cipher            = "AES-256-GCM"
)

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

// Key is one encryption key and the ID that payloads name it by. It prints as its ID only,
// so a key in a log line or an error shows nothing secret.
type Key struct {
	ID     string
	Secret []byte
}

func (k Key) String() string             { return "key " + k.ID }
func (k Key) GoString() string           { return "codec.Key{ID: " + k.ID + "}" }
func (k Key) LogValue() slog.Value       { return slog.StringValue(k.String()) }
func (k Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// Codec is a converter.PayloadCodec that seals payloads with AES-256-GCM.
type Codec struct {
	current string
	aeads   map[string]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns a codec that seals with the first key and opens with any of them.
func New(keys ...Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("codec: no key configured")
	}
	c := &Codec{current: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		if !validKeyID(k.ID) {
			return nil, fmt.Errorf("codec: key ID %q must be 1–64 of A-Z a-z 0-9 . _ -", k.ID)
		}
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("codec: key %s is %d bytes; AES-256 needs %d", k.ID, len(k.Secret), KeySize)
		}
		if _, dup := c.aeads[k.ID]; dup {
			return nil, fmt.Errorf("codec: key ID %s given twice", k.ID)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("codec: key %s: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("codec: key %s: %w", k.ID, err)
		}
		c.aeads[k.ID] = aead
	}
	return c, nil
}

// ParseKeys reads keys written as "id:base64,id:base64" (standard base64 of 32 random
// bytes, e.g. `openssl rand -base64 32`). The first key seals new payloads.
func ParseKeys(spec string) ([]Key, error) {
	var keys []Key
	for i, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, b64, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("codec: key %d is not written as id:base64", i+1)
		}
		secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil {
			// The decoder's error quotes the offending byte; say which key instead.
			return nil, fmt.Errorf("codec: key %s is not standard base64", strings.TrimSpace(id))
		}
		keys = append(keys, Key{ID: strings.TrimSpace(id), Secret: secret})
	}
	if len(keys) == 0 {
		return nil, errors.New("codec: no key configured")
	}
	return keys, nil
}

// NewKey returns a fresh random key with the given ID.
func NewKey(id string) Key {
	secret := make([]byte, KeySize)
	if _, err := rand.Read(secret); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return Key{ID: id, Secret: secret}
}

// FormatKeys writes keys the way ParseKeys reads them.
func FormatKeys(keys ...Key) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.ID + ":" + base64.StdEncoding.EncodeToString(k.Secret)
	}
	return strings.Join(parts, ",")
}

// KeyID is the ID of the key that seals new payloads.
func (c *Codec) KeyID() string { return c.current }

// Encode seals each payload, metadata included, so that not even the payload's type or
// encoding shows.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.current]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: marshal payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:    []byte(c.current),
				MetadataCipher:   []byte(Cipher),
			},
			Data: aead.Seal(nonce, nonce, plain, additionalData(c.current)),
		}
	}
	return out, nil
}

// Decode opens sealed payloads and passes others through unchanged: histories written
// before encryption was switched on, and signals an operator sends with the plain
// `temporal` CLI, stay readable.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return nil, fmt.Errorf("codec: payload sealed with key %q, which is not configured", truncate(id, 64))
		}
		data := p.GetData()
		if len(data) < aead.NonceSize()+aead.Overhead() {
			return nil, errors.New("codec: sealed payload is too short")
		}
		nonce, sealed := data[:aead.NonceSize()], data[aead.NonceSize():]
		plain, err := aead.Open(nil, nonce, sealed, additionalData(id))
		if err != nil {
			return nil, fmt.Errorf("codec: payload does not open with key %s (tampered or wrong key)", id)
		}
		var decoded commonpb.Payload
		if err := proto.Unmarshal(plain, &decoded); err != nil {
			return nil, fmt.Errorf("codec: opened payload is not a payload: %w", err)
		}
		out[i] = &decoded
	}
	return out, nil
}

// additionalData binds the cipher and the key ID into the tag: a payload whose metadata
// was edited to name another key does not open.
func additionalData(keyID string) []byte { return []byte(Cipher + "/" + keyID) }

func validKeyID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// DataConverter is the SDK's default converter with payloads sealed by c.
func DataConverter(c converter.PayloadCodec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter encodes failure messages and stack traces with dc too: a message such
// as "amount 1000 does not match the order's 39000" is customer data as much as a payload.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}
