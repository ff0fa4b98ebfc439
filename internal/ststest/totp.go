package ststest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

const totpStep = 30 * time.Second

// TOTP returns the RFC 6238 code (HMAC-SHA1, 30-second step, 6 digits) that a
// virtual MFA device holding secret shows at time t. secret is base32 as AWS
// hands it out for virtual devices; padding and case are forgiven as
// authenticator apps forgive them. It returns "" for a secret that is not
// base32.
func TOTP(secret string, t time.Time) string {
	key, err := decodeTOTPSecret(secret)
	if err != nil {
		return ""
	}
	return totpAt(key, t.Unix()/int64(totpStep/time.Second))
}

// NewTOTPSecret returns a fresh 160-bit base32 secret, the size AWS uses.
func NewTOTPSecret() string {
	buf := make([]byte, 20)
	if _, err := rand.Read(buf); err != nil {
		panic(fmt.Sprintf("ststest: crypto/rand: %v", err))
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(buf)
}

func decodeTOTPSecret(secret string) ([]byte, error) {
	s := strings.ToUpper(strings.TrimRight(strings.ReplaceAll(secret, " ", ""), "="))
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
}

func totpAt(key []byte, counter int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(counter))
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	code := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", code%1_000_000)
}

// matchTOTP reports which time step code belongs to, looking one step either
// side of now as AWS does to absorb clock drift between phone and server.
func matchTOTP(key []byte, code string, now time.Time) (int64, bool) {
	cur := now.Unix() / int64(totpStep/time.Second)
	for _, c := range []int64{cur, cur - 1, cur + 1} {
		if hmac.Equal([]byte(totpAt(key, c)), []byte(code)) {
			return c, true
		}
	}
	return 0, false
}
