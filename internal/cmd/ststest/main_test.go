package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rolevault/rolevault/internal/ststest"
)

func TestServeDemoFixture(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-fixture", "demo.json", "-v"}, pw, &stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no URL line: %v (stderr: %s)", err, stderr.String())
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "STSTEST_URL=http://127.0.0.1:")
	if !ok || url == "" {
		t.Fatalf("first line %q", line)
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck // drain until run returns

	f, err := ststest.LoadFixture("demo.json")
	if err != nil {
		t.Fatal(err)
	}
	k := f.Users[0].AccessKeys[0]
	c := sts.New(sts.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(strings.TrimSpace(line[len("STSTEST_URL="):])),
		Credentials: credentials.NewStaticCredentialsProvider(k.AccessKeyID, k.SecretAccessKey, ""),
		HTTPClient:  awshttp.NewBuildableClient(), Retryer: aws.NopRetryer{},
	})
	// The code printed by -totp is what a demo's mfa_process would hand
	// to rolevault.
	var code bytes.Buffer
	if rc := run(context.Background(), []string{"-totp", f.Users[0].MFADevices[0].Secret}, &code, io.Discard); rc != 0 {
		t.Fatalf("-totp exited %d", rc)
	}
	out, err := c.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::444444444444:role/administrator"), RoleSessionName: aws.String("alice"),
		SerialNumber: aws.String(f.Users[0].MFADevices[0].Serial), TokenCode: aws.String(strings.TrimSpace(code.String())),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::444444444444:assumed-role/administrator/alice" {
		t.Fatalf("assumed %s", got)
	}
	// The fixture's Identity Center answers on the same base URL.
	base := strings.TrimSpace(line[len("STSTEST_URL="):])
	resp, err := http.Post(base+"/device_authorization", "application/json",
		strings.NewReader(`{"clientId":"nope","clientSecret":"nope","startUrl":"`+f.SSO.Instances[0].StartURL+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("x-amzn-ErrorType") != "InvalidClientException" {
		t.Fatalf("SSO OIDC: %d %s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
	}
	cancel()
	select {
	case rc := <-done:
		if rc != 0 {
			t.Fatalf("exit %d: %s", rc, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop on cancel")
	}
	if log := stderr.String(); !strings.Contains(log, "sts AssumeRole key=****************MPLE -> 200 OK") || strings.Contains(log, k.AccessKeyID) {
		t.Fatalf("log:\n%s", log)
	}
}

func TestBadInvocations(t *testing.T) {
	for _, args := range [][]string{
		{"-fixture", "does-not-exist.json"},
		{"-listen", "0.0.0.0:0"},
		{"-totp", "not base32!"},
		{"stray"},
	} {
		if rc := run(context.Background(), args, io.Discard, io.Discard); rc == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}
