package prompt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

const serial = "arn:aws:iam::111111111111:mfa/alice"

// scriptedAsker answers asks from a list and records the notes it was shown.
type scriptedAsker struct {
	answers []string
	notes   []string
}

func (s *scriptedAsker) ask(_ context.Context, _, note string) (string, error) {
	s.notes = append(s.notes, note)
	if len(s.answers) == 0 {
		return "", errors.New("asked more often than the test expected")
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a, nil
}

// errRejected is built the way aws-sdk-go-v2 builds STS's answer to a wrong
// MFA code: an operation error around the HTTP response error around the API
// error, whose message (AWS's own text) ends with a full stop.
var errRejected error = &smithy.OperationError{
	ServiceID:     "STS",
	OperationName: "GetSessionToken",
	Err: fmt.Errorf("https response error StatusCode: 403, RequestID: x, %w", &smithy.GenericAPIError{
		Code:    "AccessDenied",
		Message: "MultiFactorAuthentication failed with invalid MFA one time pass code.",
	}),
}

func TestInteractiveReasksMalformedCodes(t *testing.T) {
	a := &scriptedAsker{answers: []string{"12345", "abcdef", "654321"}}
	src := interactive("test", a.ask)
	code, err := src.Func(context.Background(), serial)
	if err != nil || code != "654321" {
		t.Fatalf("Func = %q, %v; want 654321", code, err)
	}
	if a.notes[0] != "" {
		t.Errorf("first ask had a note: %q", a.notes[0])
	}
	if !strings.Contains(a.notes[1], "5 digits") || !strings.Contains(a.notes[1], "try 2 of 3") {
		t.Errorf("second note = %q, want the reason and the try count", a.notes[1])
	}
	if !strings.Contains(a.notes[2], "try 3 of 3") {
		t.Errorf("third note = %q", a.notes[2])
	}
	// All three tries are spent: a rejection now must not re-ask.
	if src.Rejected(serial, errRejected) {
		t.Error("Rejected = true after 3 tries; want false")
	}
}

func TestInteractiveGivesUpAfterThreeMalformed(t *testing.T) {
	a := &scriptedAsker{answers: []string{"1", "2", "3", "123456"}}
	src := interactive("test", a.ask)
	_, err := src.Func(context.Background(), serial)
	if !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("err = %v, want ErrInvalidCode", err)
	}
	if len(a.notes) != MaxAttempts {
		t.Errorf("asked %d times, want %d", len(a.notes), MaxAttempts)
	}
}

func TestRejectedSharesTheBudget(t *testing.T) {
	a := &scriptedAsker{answers: []string{"111111", "1234", "222222", "333333"}}
	src := interactive("test", a.ask)
	ctx := context.Background()

	if code, err := src.Func(ctx, serial); err != nil || code != "111111" {
		t.Fatalf("first Func = %q, %v", code, err)
	}
	if !src.Rejected(serial, errRejected) {
		t.Fatal("Rejected after 1 try = false; want true")
	}
	// The second run shows why, then re-asks once for the malformed code.
	if code, err := src.Func(ctx, serial); err != nil || code != "222222" {
		t.Fatalf("second Func = %q, %v", code, err)
	}
	if !strings.Contains(a.notes[1], "AWS rejected that code") ||
		!strings.Contains(a.notes[1], "AccessDenied: MultiFactorAuthentication failed") ||
		strings.Contains(a.notes[1], "RequestID") {
		t.Errorf("note after rejection = %q; want the short STS reason", a.notes[1])
	}
	if src.Rejected(serial, errRejected) {
		t.Error("Rejected after 3 codes = true; want false")
	}
}

func TestNewRunGetsFullBudget(t *testing.T) {
	a := &scriptedAsker{answers: []string{"111111", "222222", "333333", "444444"}}
	src := interactive("test", a.ask)
	ctx := context.Background()
	src.Func(ctx, serial)
	src.Rejected(serial, errRejected)
	src.Func(ctx, serial) // accepted: the caller does not call Rejected
	// Later in the same process the serial is needed again: a fresh run.
	src.Func(ctx, serial)
	if a.notes[2] != "" {
		t.Errorf("a fresh run showed a stale note: %q", a.notes[2])
	}
	if !src.Rejected(serial, errRejected) {
		t.Error("fresh run: Rejected = false; want true")
	}
}

func TestRejectedIsPerSerial(t *testing.T) {
	a := &scriptedAsker{answers: []string{"111111"}}
	src := interactive("test", a.ask)
	src.Func(context.Background(), serial)
	if src.Rejected("arn:aws:iam::111111111111:mfa/bob", errRejected) {
		t.Error("Rejected for a serial never asked = true")
	}
}

func TestNonInteractiveNeverReasks(t *testing.T) {
	fixed, err := Fixed("123456")
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []Source{fixed, {}, oneShot("x", func(context.Context, string) (string, error) { return "123456", nil })} {
		if src.Interactive || src.Rejected(serial, errRejected) {
			t.Errorf("%q: Interactive=%v, Rejected=true; want neither", src.Name, src.Interactive)
		}
	}
}

func TestFixed(t *testing.T) {
	src, err := Fixed(" 123456 ")
	if err != nil {
		t.Fatal(err)
	}
	if code, err := src.Func(context.Background(), serial); code != "123456" || err != nil {
		t.Errorf("Func = %q, %v", code, err)
	}
	if _, err := Fixed("12345"); !errors.Is(err, ErrInvalidCode) || !strings.Contains(err.Error(), "--mfa-token") {
		t.Errorf("Fixed(12345) err = %v; want ErrInvalidCode naming --mfa-token", err)
	}
}

func TestRejectionReason(t *testing.T) {
	if got := rejectionReason(errRejected); got != "AccessDenied: MultiFactorAuthentication failed with invalid MFA one time pass code" {
		t.Errorf("rejectionReason = %q", got)
	}
	if got := rejectionReason(errors.New("plain")); got != "plain" {
		t.Errorf("rejectionReason(plain) = %q", got)
	}
}

// After a lost reply an interactive source asks for the next code, saying
// the last one may have been used; a fixed one is not asked again.
func TestReplyLostAsksForTheNextCode(t *testing.T) {
	a := &scriptedAsker{answers: []string{"111111", "222222"}}
	src := interactive("test", a.ask)
	ctx := context.Background()
	src.Func(ctx, serial)
	if !src.ReplyLost(serial) {
		t.Fatal("ReplyLost after 1 try = false; want true")
	}
	if code, err := src.Func(ctx, serial); err != nil || code != "222222" {
		t.Fatalf("second Func = %q, %v", code, err)
	}
	if n := a.notes[1]; !strings.Contains(n, "may have used that code") || !strings.Contains(n, "wait for the next code") ||
		!strings.Contains(n, "try 2 of 3") || strings.Contains(n, "rejected") {
		t.Errorf("note after a lost reply = %q", n)
	}
	fixed, err := Fixed("123456")
	if err != nil {
		t.Fatal(err)
	}
	if fixed.ReplyLost(serial) {
		t.Error("a fixed code would be asked again after a lost reply")
	}
}
