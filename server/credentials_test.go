package server

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Keys that do not expire (a profile without a session) are served with a
// rolling Expiration an hour ahead: botocore requires the field in both
// documents, and would otherwise fail to load them at all.
func TestNonExpiringCredentialsGetRollingExpiration(t *testing.T) {
	clock := newFakeClock()
	calls := 0
	src := func(context.Context) (aws.Credentials, error) {
		calls++
		return aws.Credentials{AccessKeyID: "AKIAFAKE", SecretAccessKey: "s"}, nil
	}
	s, err := StartECS(context.Background(), src, ECSOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	clock.Add(30 * 24 * time.Hour)
	w := serve(s, request("GET", ECSPath, "127.0.0.1:"+ecsPort(s), map[string]string{"Authorization": s.token}))
	var doc map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if want := isoTime(clock.Now().Add(time.Hour)); doc["Expiration"] != want {
		t.Fatalf("Expiration %q, want %q", doc["Expiration"], want)
	}
	if _, ok := doc["Token"]; !ok {
		t.Fatal("Token missing; botocore reads it unconditionally")
	}
	if calls != 1 {
		t.Fatalf("%d calls for credentials that never expire", calls)
	}
}

func TestIsoTime(t *testing.T) {
	at := time.Date(2026, 3, 1, 13, 4, 5, 999_000_000, time.FixedZone("CET", 3600))
	if got := isoTime(at); got != "2026-03-01T12:04:05Z" {
		t.Fatalf("isoTime = %q; want UTC, whole seconds rounded down, Z", got)
	}
}

func TestMaskKey(t *testing.T) {
	for in, want := range map[string]string{
		"ASIAEXAMPLE1234": "****************1234",
		"abc":             "****",
		"":                "****",
	} {
		if got := maskKey(in); got != want {
			t.Errorf("maskKey(%q) = %q, want %q", in, got, want)
		}
	}
}
