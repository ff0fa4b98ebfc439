package server

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/rolevault/rolevault/internal/testskip"
)

// These tests put the real aws-sdk-go-v2 credential chain on the servers,
// configured only through the environment, as a child process would be.

func sdkRetrieve(t *testing.T) (aws.Credentials, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("LoadDefaultConfig: %v", err)
	}
	return cfg.Credentials.Retrieve(ctx)
}

func TestSDKReadsECSServer(t *testing.T) {
	isolateAWSEnv(t)
	src := newFakeSource(nil, time.Hour)
	s := startECS(t, src, ECSOptions{})
	setEnv(t, s.Env())

	c, err := sdkRetrieve(t)
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if c.AccessKeyID != keyID(1) || c.SecretAccessKey != "secret-1" || c.SessionToken != "session-1" {
		t.Fatalf("SDK got %+v", c)
	}
	// The SDK's cache reports expiry minus its 5-minute window.
	if !c.CanExpire || time.Until(c.Expires) < 50*time.Minute {
		t.Fatalf("SDK sees expiry %s", c.Expires)
	}
}

func TestSDKReportsECSRefreshError(t *testing.T) {
	isolateAWSEnv(t)
	src := newFakeSource(nil, time.Hour)
	src.err = errors.New("MFA code rejected by STS")
	s := startECS(t, src, ECSOptions{Lazy: true})
	setEnv(t, s.Env())

	_, err := sdkRetrieve(t)
	if err == nil {
		t.Fatal("Retrieve succeeded against a failing source")
	}
	// The Go SDK decodes {"code","message"} into its error.
	if msg := err.Error(); !strings.Contains(msg, "CredentialsUnavailable") || !strings.Contains(msg, "MFA code rejected") {
		t.Fatalf("SDK error does not carry the document: %v", err)
	}
	// The SDK retries a 500 three times; the held error spares the source.
	if c := src.Calls(); c != 1 {
		t.Fatalf("SDK retries made %d calls to the source, want 1", c)
	}
}

func TestSDKRejectedWithWrongToken(t *testing.T) {
	isolateAWSEnv(t)
	s := startECS(t, newFakeSource(nil, time.Hour), ECSOptions{})
	setEnv(t, s.Env())
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "guessed")

	_, err := sdkRetrieve(t)
	if err == nil || !strings.Contains(err.Error(), "InvalidToken") {
		t.Fatalf("Retrieve with a wrong token: %v", err)
	}
}

func TestSDKReadsEC2Server(t *testing.T) {
	isolateAWSEnv(t)
	src := newFakeSource(nil, time.Hour)
	s := startEC2(t, src, EC2Options{RequireToken: true})
	setEnv(t, s.Env())

	c, err := sdkRetrieve(t)
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if c.AccessKeyID != keyID(1) || c.SecretAccessKey != "secret-1" || c.SessionToken != "session-1" {
		t.Fatalf("SDK got %+v", c)
	}
}

func TestSDKReadsEC2ThroughProxy(t *testing.T) {
	isolateAWSEnv(t)
	src := newFakeSource(nil, time.Hour)
	s := startEC2(t, src, EC2Options{RequireToken: true})
	proxy := startProxy(t, s.Addr())
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://"+proxy+"/")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")

	c, err := sdkRetrieve(t)
	if err != nil {
		t.Fatalf("Retrieve through the proxy: %v", err)
	}
	if c.AccessKeyID != keyID(1) {
		t.Fatalf("SDK got %+v", c)
	}
}

func TestSDKReportsEC2RefreshError(t *testing.T) {
	isolateAWSEnv(t)
	src := newFakeSource(nil, time.Hour)
	src.err = errors.New("keychain is locked")
	s := startEC2(t, src, EC2Options{Lazy: true})
	setEnv(t, s.Env())

	_, err := sdkRetrieve(t)
	if err == nil {
		t.Fatal("Retrieve succeeded against a failing source")
	}
	if msg := err.Error(); !strings.Contains(msg, "CredentialsUnavailable") || !strings.Contains(msg, "keychain is locked") {
		t.Fatalf("SDK error does not carry the document: %v", err)
	}
	if c := src.Calls(); c != 1 {
		t.Fatalf("%d calls to the source, want 1", c)
	}
}

// botocore (boto3, awscli) is the other family of clients that reads these
// servers, with rules of its own: a 2 s container timeout, an allow-list of
// hosts, a strict IMDS timestamp format. The test runs every Python on this
// machine that has botocore and skips when none has.
func TestBotocoreReadsServers(t *testing.T) {
	pythons := map[string]bool{}
	for _, name := range []string{"python3", "/usr/bin/python3"} {
		if p, err := exec.LookPath(name); err == nil {
			if exec.Command(p, "-c", "import botocore").Run() == nil {
				pythons[p] = true
			}
		}
	}
	if len(pythons) == 0 {
		testskip.Missing(t, "botocore", "python3-botocore", "no python3 with botocore (Debian/Ubuntu: apt-get install python3-botocore)")
	}
	isolateAWSEnv(t)
	src := newFakeSource(nil, time.Hour)
	ecs := startECS(t, src, ECSOptions{})
	ec2 := startEC2(t, src, EC2Options{RequireToken: true})
	const script = `
import botocore.session
c = botocore.session.get_session().get_credentials()
f = c.get_frozen_credentials()
print(c.method, f.access_key, f.token)
`
	for py := range pythons {
		for _, tt := range []struct {
			env    []string
			method string
		}{{ecs.Env(), "container-role"}, {ec2.Env(), "iam-role"}} {
			cmd := exec.Command(py, "-c", script)
			cmd.Env = append(os.Environ(), tt.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s with %s: %v\n%s", py, tt.env[0], err, out)
			}
			fields := strings.Fields(string(out))
			if len(fields) != 3 || fields[0] != tt.method || !strings.HasPrefix(fields[1], "ASIAFAKE") || !strings.HasPrefix(fields[2], "session-") {
				t.Fatalf("%s with %s printed %q", py, tt.env[0], out)
			}
		}
	}
}
