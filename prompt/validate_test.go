package prompt

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateCode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"123456", "123456", true},
		{" 123456\n", "123456", true},
		{"123 456", "123456", true}, // as authenticator apps show it
		{"\t012345\r\n", "012345", true},
		{"", "", false},
		{"   ", "", false},
		{"12345", "", false},
		{"1234567", "", false},
		{"12345a", "", false},
		{"١٢٣٤٥٦", "", false}, // Arabic-Indic digits: not what STS takes
		{"123-456", "", false},
		{"hunter2hunter2", "", false},
	} {
		got, err := ValidateCode(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("ValidateCode(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidCode) {
				t.Errorf("ValidateCode(%q) error %v does not wrap ErrInvalidCode", tc.in, err)
			}
			if strings.TrimSpace(tc.in) != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) {
				t.Errorf("ValidateCode(%q) error repeats the input: %v", tc.in, err)
			}
		}
	}
}
