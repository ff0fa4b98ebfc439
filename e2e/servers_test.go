//go:build unix

package e2e

// The credential servers of `exec --ecs-server` and `exec --ec2-server`, read
// by the real clients that run as rolevault's child: Debian's AWS CLI v2,
// boto3 and an aws-sdk-go-v2 program; refresh across expiries without a new
// MFA code; and refusals of requests that lack the token or come under
// another host name.

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rolevault/rolevault/internal/ststest"
)

// noKeysThen is a child that fails if rolevault handed it keys in the
// environment (then the client would not be reading the server at all) and
// otherwise runs its arguments.
const noKeysThen = `if [ -n "${AWS_ACCESS_KEY_ID+x}${AWS_SECRET_ACCESS_KEY+x}${AWS_SESSION_TOKEN+x}" ]; then
  echo "credential variables in the child's environment" >&2; exit 99
fi
exec "$@"`

// TestECSServerClients: the AWS CLI, boto3 and an aws-sdk-go-v2 program, each
// the child of `exec --ecs-server role-b`, get role-b's credentials from the
// server and call STS with them.
func TestECSServerClients(t *testing.T) {
	w := newWorld(t)
	awsCLI := debianAWS(t)
	python := debianPython(t)
	sdk := toolBinary(t, "sdkcaller")
	ecs := func(child ...string) []string {
		return append([]string{"exec", "--ecs-server", "role-b", "--", "sh", "-c", noKeysThen, "sh"}, child...)
	}

	t.Run("awscli", func(t *testing.T) {
		r := w.E.Run(t, ecs(awsCLI, "sts", "get-caller-identity", "--endpoint-url", w.URL, "--output", "json", "--debug")...)
		if r.Code != 0 {
			t.Fatalf("exit %d; stdout %q; stderr ends:\n%s", r.Code, r.Stdout, tail(r.Stderr, 15))
		}
		if p := botocoreProvider(r.Stderr); p != "container-role" {
			t.Errorf("the AWS CLI took its credentials from %q, want container-role", p)
		}
		w.checkRoleB(t, w.lastCaller(t), parseCallerIdentity(t, r).Arn)
	})
	t.Run("boto3", func(t *testing.T) {
		r := w.E.Run(t, ecs(python, "-c", `
import sys, boto3
s = boto3.Session()
print(s.get_credentials().method, file=sys.stderr)
print(s.client("sts", endpoint_url=sys.argv[1]).get_caller_identity()["Arn"])
`, w.URL)...)
		expect(t, r, 0, "err:container-role")
		w.checkRoleB(t, w.lastCaller(t), strings.TrimSpace(r.Stdout))
	})
	t.Run("aws-sdk-go-v2", func(t *testing.T) {
		r := w.E.Run(t, ecs(sdk, "-endpoint", w.URL)...)
		expect(t, r, 0, "out: CredentialsEndpointProvider\n")
		f := strings.Fields(r.Stdout)
		if len(f) != 3 {
			t.Fatalf("want one line from the SDK program: %s", r)
		}
		if f[0] != w.lastCaller(t) {
			t.Errorf("the program says it signed with %s, the emulator saw %s", f[0], w.lastCaller(t))
		}
		w.checkRoleB(t, f[0], f[1])
	})
	if w.mfaRuns(t) != 1 || w.STS.Calls("GetSessionToken") != 1 {
		t.Errorf("want one MFA session for the three servers: %d mfa_process runs, %d GetSessionToken",
			w.mfaRuns(t), w.STS.Calls("GetSessionToken"))
	}
}

// TestECSServerRefreshesWithoutMFA: a child that keeps calling STS through
// several expiries of its role credentials gets new ones from the server each
// time, built on the one MFA session: no second MFA code. The emulator caps
// role sessions at 45 s (after issuing the 8-hour MFA session) and
// AWS_MIN_TTL=30s makes rolevault refresh them once 30 s are left, so three
// generations take about half a minute instead of hours.
func TestECSServerRefreshesWithoutMFA(t *testing.T) {
	w := newWorld(t)
	sdk := toolBinary(t, "sdkcaller")
	t.Parallel() // mostly waiting for expiries
	w.STS.OnSuccess("GetSessionToken", func(ststest.Call) { w.STS.SetMaxSessionLifetime(45 * time.Second) })
	w.E.Set("AWS_MIN_TTL", "30s")

	argv := []string{binary, "exec", "--ecs-server", "role-b", "--", "sh", "-c", noKeysThen, "sh",
		sdk, "-endpoint", w.URL, "-distinct", "3", "-every", "2s", "-give-up", "150s"}
	r := runQuiet(w.E, 170*time.Second, argv...)
	expect(t, r, 0)

	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[2] != "CredentialsEndpointProvider" {
			t.Errorf("unexpected line %q from the SDK program", line)
			continue
		}
		if !seen[f[0]] {
			seen[f[0]] = true
			w.checkRoleB(t, f[0], f[1])
		}
	}
	if len(seen) < 3 {
		t.Errorf("the child used %d different keys, want 3: %s", len(seen), r)
	}
	if w.mfaRuns(t) != 1 || w.STS.MFAChecks() != 1 || w.STS.Calls("GetSessionToken") != 1 {
		t.Errorf("refreshing asked for MFA again: %d mfa_process runs, %d MFA checks, %d GetSessionToken",
			w.mfaRuns(t), w.STS.MFAChecks(), w.STS.Calls("GetSessionToken"))
	}
	if n := w.STS.Calls("AssumeRole"); n < 3 {
		t.Errorf("%d AssumeRole calls, want at least 3", n)
	}
	for _, c := range w.STS.History() {
		if c.Code != "" {
			t.Errorf("the emulator refused a call: %+v", c)
			continue
		}
		// The server hands out nothing inside AWS_MIN_TTL (30 s), so every
		// call the child signs has more than that left, by the emulator's
		// clock; half of it leaves room for a slow machine between serving
		// and calling.
		if s, ok := w.STS.Session(c.AccessKeyID); ok && c.Action == "GetCallerIdentity" {
			if left := s.Expiration.Sub(c.Time); left < 15*time.Second {
				t.Errorf("the child called with %s, which had only %s left: the server served it inside AWS_MIN_TTL", c.AccessKeyID, left)
			}
		}
	}
}

// TestECSServerRefusals: with curl, as the child of exec --ecs-server, a
// request with a wrong token, without a token, and one addressed to
// Host: evil.example (DNS rebinding) are each refused with 403; the same
// request with the token and the right host gets role-b's credentials.
func TestECSServerRefusals(t *testing.T) {
	requireTool(t, "curl", "curl")
	w := newWorld(t)
	child := `set -u
echo "$AWS_CONTAINER_CREDENTIALS_FULL_URI $AWS_CONTAINER_AUTHORIZATION_TOKEN"
get() { curl --noproxy '*' -sS -o /dev/null -w '%{http_code}\n' "$@" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"; }
get -H "Authorization: wrong-$AWS_CONTAINER_AUTHORIZATION_TOKEN"
get -H "Authorization: $(printf %s "$AWS_CONTAINER_AUTHORIZATION_TOKEN" | tr 'A-Za-z' 'B-ZaA-Zb')"
get
get -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" -H "Host: evil.example"
curl --noproxy '*' -sS -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"`
	r := w.E.Run(t, "exec", "--ecs-server", "role-b", "--", "sh", "-c", child)
	expect(t, r, 0)
	lines := strings.SplitN(r.Stdout, "\n", 6)
	if len(lines) != 6 {
		t.Fatalf("unexpected child output: %s", r)
	}
	uri, token, _ := strings.Cut(lines[0], " ")
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || len(token) < 32 {
		t.Errorf("want an http://127.0.0.1 URI and a long random token, got %q %q", uri, token)
	}
	for i, what := range []string{"a wrong token", "a wrong token of the right length", "no token", "Host: evil.example"} {
		if lines[i+1] != "403" {
			t.Errorf("request with %s: status %q, want 403", what, lines[i+1])
		}
	}
	var doc struct{ AccessKeyId, SecretAccessKey, Token, Expiration string }
	if err := json.Unmarshal([]byte(lines[5]), &doc); err != nil || doc.AccessKeyId == "" {
		t.Fatalf("the good request got no credentials document (%v): %q", err, lines[5])
	}
	arn, err := w.callerIdentity(context.Background(), processCreds{AccessKeyID: doc.AccessKeyId, SecretAccessKey: doc.SecretAccessKey, SessionToken: doc.Token})
	if err != nil {
		t.Fatalf("the served credentials were refused: %v", err)
	}
	w.checkRoleB(t, doc.AccessKeyId, arn)
}

// TestEC2ServerAWSCLI: the AWS CLI, child of exec --ec2-server, follows
// AWS_EC2_METADATA_SERVICE_ENDPOINT (set by rolevault to its loopback
// server) through the IMDSv2 token flow to role-b's credentials.
func TestEC2ServerAWSCLI(t *testing.T) {
	w := newWorld(t)
	awsCLI := debianAWS(t)
	delete(w.E.Vars, "AWS_EC2_METADATA_DISABLED") // the one test that lets clients use IMDS
	child := `echo "endpoint=$AWS_EC2_METADATA_SERVICE_ENDPOINT"; ` + noKeysThen
	r := w.E.Run(t, "exec", "--ec2-server", "role-b", "--", "sh", "-c", child, "sh",
		awsCLI, "sts", "get-caller-identity", "--endpoint-url", w.URL, "--output", "json", "--debug")
	if r.Code != 0 {
		t.Fatalf("exit %d; stdout %q; stderr ends:\n%s", r.Code, r.Stdout, tail(r.Stderr, 15))
	}
	if p := botocoreProvider(r.Stderr); p != "iam-role" {
		t.Errorf("the AWS CLI took its credentials from %q, want iam-role (instance metadata)", p)
	}
	first, rest, _ := strings.Cut(r.Stdout, "\n")
	u, err := url.Parse(strings.TrimPrefix(first, "endpoint="))
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
		t.Errorf("AWS_EC2_METADATA_SERVICE_ENDPOINT in the child is %q, want http://127.0.0.1:PORT/", first)
	}
	// urllib3's debug lines in botocore's --debug log show the IMDSv2 flow.
	for _, req := range []string{`"PUT /latest/api/token HTTP/1.1" 200`, `"GET /latest/meta-data/iam/security-credentials/ HTTP/1.1" 200`} {
		if !strings.Contains(r.Stderr, req) {
			t.Errorf("the AWS CLI's log lacks %s", req)
		}
	}
	id := parseCallerIdentity(t, Result{Stdout: rest})
	w.checkRoleB(t, w.lastCaller(t), id.Arn)
}

// botocoreProvider is the credential provider botocore's --debug log names
// last: it tries them in order and stops at the first that has credentials.
func botocoreProvider(log string) string {
	const marker = "Looking for credentials via: "
	i := strings.LastIndex(log, marker)
	if i < 0 {
		return ""
	}
	p, _, _ := strings.Cut(log[i+len(marker):], "\n")
	return strings.TrimSpace(p)
}

// tail is the last n lines of s, for reporting long logs.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
