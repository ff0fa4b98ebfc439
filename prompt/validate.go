package prompt

import (
	"fmt"
	"strings"
)

// ValidateCode checks that code is an MFA code AWS can accept and returns it
// normalised. Spaces and tabs are dropped anywhere, because authenticator apps
// show codes as "123 456" and people type what they see. What is left must be
// exactly six ASCII digits.
//
// The error never contains the input: a person who types into the wrong
// prompt may have typed a password.
func ValidateCode(code string) (string, error) {
	c := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, code)
	if c == "" {
		return "", fmt.Errorf("%w: nothing was entered", ErrInvalidCode)
	}
	for _, r := range c {
		if r < '0' || r > '9' {
			return "", fmt.Errorf("%w: it contains something other than digits", ErrInvalidCode)
		}
	}
	if len(c) != 6 {
		return "", fmt.Errorf("%w: %d digits were entered", ErrInvalidCode, len(c))
	}
	return c, nil
}
