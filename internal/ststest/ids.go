package ststest

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

const (
	keyAlphabet    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// randomString draws from crypto/rand: tests compare credentials for
// equality and must never see two sessions collide.
func randomString(alphabet string, n int) string {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		panic(fmt.Sprintf("ststest: crypto/rand: %v", err))
	}
	for i, c := range buf {
		buf[i] = alphabet[int(c)%len(alphabet)]
	}
	return string(buf)
}

// The prefixes are AWS's unique-ID prefixes; client code (and rolevault's
// masking) tells long-term keys from session keys by them.
func newLongTermKeyID() string { return "AKIA" + randomString(keyAlphabet, 16) }
func newSessionKeyID() string  { return "ASIA" + randomString(keyAlphabet, 16) }
func newUserID() string        { return "AIDA" + randomString(keyAlphabet, 17) }
func newRoleID() string        { return "AROA" + randomString(keyAlphabet, 17) }
func newSecret() string        { return randomString(secretAlphabet, 40) }

// newSessionToken is opaque and long like AWS's (several hundred bytes), so
// clients that store tokens are exercised with realistic sizes.
func newSessionToken() string {
	buf := make([]byte, 300)
	if _, err := rand.Read(buf); err != nil {
		panic(fmt.Sprintf("ststest: crypto/rand: %v", err))
	}
	return "IQoJb3JpZ2luX2VjE" + base64.StdEncoding.EncodeToString(buf)
}

func newSigninToken() string {
	buf := make([]byte, 192)
	if _, err := rand.Read(buf); err != nil {
		panic(fmt.Sprintf("ststest: crypto/rand: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(buf)
}

func newRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("ststest: crypto/rand: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
