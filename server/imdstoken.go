package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// IMDSv2 session tokens are self-contained: expiry, a random nonce and an
// HMAC over both under a key that lives only in this process. The server
// therefore keeps no table of issued tokens that a local process could grow
// without bound by asking for millions, and a token from another server (or a
// previous run) never validates.
const (
	tokenNonceBytes = 16
	tokenMACBytes   = sha256.Size
	tokenRawBytes   = 8 + tokenNonceBytes + tokenMACBytes

	// Bounds of X-aws-ec2-metadata-token-ttl-seconds, as EC2 enforces them.
	minTokenTTL = 1
	maxTokenTTL = 21600
)

type imdsTokens struct {
	key []byte
}

func newIMDSTokens() (*imdsTokens, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return &imdsTokens{key: key}, nil
}

func (t *imdsTokens) mac(body []byte) []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write(body)
	return m.Sum(nil)
}

// issue returns a token valid until expires.
func (t *imdsTokens) issue(expires time.Time) (string, error) {
	raw := make([]byte, 8+tokenNonceBytes, tokenRawBytes)
	binary.BigEndian.PutUint64(raw, uint64(expires.UnixNano()))
	if _, err := rand.Read(raw[8:]); err != nil {
		return "", err
	}
	raw = append(raw, t.mac(raw)...)
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// valid reports whether tok was issued by this server and has not expired.
func (t *imdsTokens) valid(tok string, now time.Time) bool {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != tokenRawBytes {
		return false
	}
	body, sum := raw[:8+tokenNonceBytes], raw[8+tokenNonceBytes:]
	if !hmac.Equal(sum, t.mac(body)) {
		return false
	}
	exp := int64(binary.BigEndian.Uint64(body))
	return now.UnixNano() < exp
}
