package e2e

// A "world" for the credential tests: the STS emulator in this process, an
// IAM user with a stored key and a virtual MFA device, a role chain
// login → role-a (MFA) → role-b (trusts role-a), the AWS config that
// describes it, and the real clients (Debian's AWS CLI v2 and boto3, a tiny
// aws-sdk-go-v2 program) that consume what rolevault hands out.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/rolevault/rolevault/internal/ststest"
)

const (
	loginAccount = "111111111111"
	roleAAccount = "222222222222"
	roleBAccount = "333333333333"
	worldRegion  = "us-east-1"
)

type world struct {
	E   *Env
	STS *ststest.Server
	URL string // the emulator, http://127.0.0.1:PORT

	KeyID, Secret     string // alice's long-term key, stored for profile login
	Serial, MFASecret string // alice's virtual MFA device
	RoleA, RoleB      string

	// MFAProcess is an mfa_process command that appends a line to MFALog and
	// prints the current code, so a test can count how often rolevault asked.
	MFAProcess, MFALog string
}

// newWorld starts the emulator and writes the config:
//
//	login    alice's stored key, mfa_serial, mfa_process
//	role-a   source_profile login, role_arn A (trusts alice, requires MFA)
//	role-b   source_profile role-a, role_arn B (trusts role A)
//	cp-b     credential_process = rolevault export --format=json role-b
//
// mfa_process is on role-a as well as login (see the report on the source's
// GetSessionToken ignoring a role profile's mfa_process).
func newWorld(t *testing.T) *world {
	t.Helper()
	skipIfE2EOff(t)
	s := ststest.New()
	w := &world{STS: s, URL: s.Start()}
	t.Cleanup(s.Close)
	w.KeyID, w.Secret = s.AddUser(loginAccount, "alice")
	w.Serial, w.MFASecret = s.AddMFADevice(loginAccount, "alice")
	w.RoleA = "arn:aws:iam::" + roleAAccount + ":role/role-a"
	w.RoleB = "arn:aws:iam::" + roleBAccount + ":role/role-b"
	must(t, s.AddRole(w.RoleA, ststest.RoleOptions{Trust: []string{"arn:aws:iam::" + loginAccount + ":user/alice"}, RequireMFA: true}))
	must(t, s.AddRole(w.RoleB, ststest.RoleOptions{Trust: []string{w.RoleA}}))

	w.E = NewEnv(t)
	w.E.Set("AWS_VAULT_BACKEND", "file",
		"AWS_VAULT_FILE_DIR", filepath.Join(w.E.Home, "keys"),
		"AWS_VAULT_FILE_PASSPHRASE", "e2e-file-passphrase")

	w.MFALog = filepath.Join(w.E.Home, "mfa.log")
	w.MFAProcess = filepath.Join(w.E.Home, "mfa.sh")
	script := fmt.Sprintf("#!/bin/sh\necho asked >>%s\nexec %s -totp %s\n", shQuote(w.MFALog), shQuote(toolBinary(t, "ststest")), w.MFASecret)
	must(t, os.WriteFile(w.MFAProcess, []byte(script), 0o700))

	w.E.WriteConfig(t, w.config(""))
	w.E.Set("AWS_ACCESS_KEY_ID", w.KeyID, "AWS_SECRET_ACCESS_KEY", w.Secret)
	r := w.E.Run(t, "add", "login", "--env", "--no-add-config")
	delete(w.E.Vars, "AWS_ACCESS_KEY_ID")
	delete(w.E.Vars, "AWS_SECRET_ACCESS_KEY")
	expect(t, r, 0)
	if r.Code != 0 {
		t.FailNow()
	}
	return w
}

// config is the AWS config of the world followed by extra. Every profile
// names the region and the emulator, as the AWS CLI does not inherit them
// along source_profile.
func (w *world) config(extra string) string {
	common := "region = " + worldRegion + "\nendpoint_url = " + w.URL + "\n"
	return "[profile login]\n" + common +
		"mfa_serial = " + w.Serial + "\nmfa_process = " + w.MFAProcess + "\n\n" +
		"[profile role-a]\n" + common + "source_profile = login\nrole_arn = " + w.RoleA +
		"\nmfa_serial = " + w.Serial + "\nmfa_process = " + w.MFAProcess + "\n\n" +
		"[profile role-b]\n" + common + "source_profile = role-a\nrole_arn = " + w.RoleB + "\n\n" +
		"[profile cp-b]\nregion = " + worldRegion + "\ncredential_process = " + binary + " export --format=json role-b\n\n" +
		extra
}

// mfaRuns is how many times the mfa_process ran.
func (w *world) mfaRuns(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(w.MFALog)
	if os.IsNotExist(err) {
		return 0
	}
	must(t, err)
	return strings.Count(string(b), "\n")
}

// code is an MFA code the emulator accepts now.
func (w *world) code() string { return ststest.TOTP(w.MFASecret, w.STS.Now()) }

// lastCaller is the access key that signed the newest successful
// GetCallerIdentity.
func (w *world) lastCaller(t *testing.T) string {
	t.Helper()
	h := w.STS.History()
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Action == "GetCallerIdentity" && h[i].Code == "" {
			return h[i].AccessKeyID
		}
	}
	t.Fatalf("the emulator saw no successful GetCallerIdentity; history: %+v", h)
	return ""
}

// checkRoleB checks that akid is a role-b session the emulator issued for the
// chain login (MFA) → role-a → role-b, and that arn is what the emulator
// reports for it.
func (w *world) checkRoleB(t *testing.T, akid, arn string) {
	t.Helper()
	b, ok := w.STS.Session(akid)
	if !ok {
		t.Errorf("%s is not a session the emulator issued", akid)
		return
	}
	if b.Kind != ststest.KindAssumeRole || b.RoleArn != w.RoleB || b.Arn != arn {
		t.Errorf("session %s: %s of %s as %s; the client printed %q", akid, b.Kind, b.RoleArn, b.Arn, arn)
	}
	if !strings.HasPrefix(arn, "arn:aws:sts::"+roleBAccount+":assumed-role/role-b/") {
		t.Errorf("printed ARN %q is not an assumed-role ARN of role-b", arn)
	}
	a, ok := w.STS.Session(b.Parent)
	if !ok || a.Kind != ststest.KindAssumeRole || a.RoleArn != w.RoleA {
		t.Errorf("role-b session %s was not assumed with a role-a session (parent %q: %+v)", akid, b.Parent, a.RoleArn)
		return
	}
	g, ok := w.STS.Session(a.Parent)
	if !ok || g.Kind != ststest.KindSessionToken || !g.MFA || g.MFASerial != w.Serial || g.CallerAccessKeyID != w.KeyID {
		t.Errorf("role-a session %s was not assumed with alice's MFA session (parent %q: kind %s, MFA %v, key %s)",
			a.AccessKeyID, a.Parent, g.Kind, g.MFA, g.CallerAccessKeyID)
	}
}

// callerIdentity calls GetCallerIdentity at the emulator with the given
// credentials, in this process.
func (w *world) callerIdentity(ctx context.Context, c processCreds) (string, error) {
	client := sts.New(sts.Options{
		Region:       worldRegion,
		BaseEndpoint: aws.String(w.URL),
		HTTPClient:   &http.Client{Timeout: 20 * time.Second},
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken),
	})
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Arn), nil
}

// secrets are every secret access key and session token the world knows:
// the stored key's and those of every session the emulator issued.
func (w *world) secrets() []string {
	out := []string{w.Secret}
	for _, s := range w.STS.Sessions() {
		out = append(out, s.SecretAccessKey, s.SessionToken)
	}
	return out
}

// processCreds is credential_process's Version 1 document.
type processCreds struct {
	Version         int
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

func parseProcessCreds(t *testing.T, out string) processCreds {
	t.Helper()
	var c processCreds
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("stdout is not a credential_process document: %v\n%q", err, out)
	}
	if c.Version != 1 || c.AccessKeyID == "" || c.SecretAccessKey == "" || c.SessionToken == "" || c.Expiration == "" {
		t.Fatalf("incomplete credential_process document: %q", out)
	}
	return c
}

// callerIdentityOutput is `aws sts get-caller-identity --output json`.
type callerIdentityOutput struct{ UserId, Account, Arn string }

func parseCallerIdentity(t *testing.T, r Result) callerIdentityOutput {
	t.Helper()
	var id callerIdentityOutput
	if err := json.Unmarshal([]byte(r.Stdout), &id); err != nil || id.Arn == "" {
		t.Fatalf("no caller identity in the output (%v): %s", err, r)
	}
	return id
}

// debianAWS is the path of Debian's AWS CLI v2 (the aws first on PATH may be
// another one, such as a pip-installed v1).
func debianAWS(t *testing.T) string {
	t.Helper()
	requireTool(t, "dpkg", "dpkg")
	out, _ := exec.Command("dpkg", "-L", "awscli").Output()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasSuffix(line, "/bin/aws") {
			if _, err := os.Stat(line); err == nil {
				return line
			}
		}
	}
	missingTool(t, "aws", "awscli", "Debian's AWS CLI v2 is not installed (Debian/Ubuntu: apt-get install awscli)")
	return ""
}

// debianPython is the interpreter Debian's AWS CLI runs on, which has
// Debian's boto3; it must import boto3.
func debianPython(t *testing.T) string {
	t.Helper()
	aws := debianAWS(t)
	b, err := os.ReadFile(aws)
	must(t, err)
	first, _, _ := strings.Cut(string(b), "\n")
	py := strings.TrimSpace(strings.TrimPrefix(first, "#!"))
	if py == "" || strings.Contains(py, " ") {
		missingTool(t, "python3", "awscli", fmt.Sprintf("cannot tell the interpreter of %s from %q", aws, first))
	}
	if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
		missingTool(t, "boto3", "python3-boto3", fmt.Sprintf("%s cannot import boto3 (Debian/Ubuntu: apt-get install python3-boto3)", py))
	}
	return py
}

var (
	toolsMu    sync.Mutex
	toolsBuilt = map[string]string{}
	toolsErr   = map[string]error{}
)

// toolPackages are the helper programs a test can ask toolBinary for.
var toolPackages = map[string]string{
	"ststest":   "github.com/rolevault/rolevault/internal/cmd/ststest",   // -totp SECRET prints the code
	"sdkcaller": "github.com/rolevault/rolevault/e2e/internal/sdkcaller", // an aws-sdk-go-v2 program
}

// toolBinary builds a helper program once per test run, next to the
// rolevault binary (TestMain removes that directory).
func toolBinary(t *testing.T, name string) string {
	t.Helper()
	skipIfE2EOff(t)
	toolsMu.Lock()
	defer toolsMu.Unlock()
	if p, ok := toolsBuilt[name]; ok {
		return p
	}
	if err, ok := toolsErr[name]; ok {
		t.Fatal(err)
	}
	p := filepath.Join(filepath.Dir(binary), name)
	out, err := exec.Command("go", "build", "-o", p, toolPackages[name]).CombinedOutput()
	if err != nil {
		toolsErr[name] = fmt.Errorf("building %s: %v\n%s", name, err, out)
		t.Fatal(toolsErr[name])
	}
	toolsBuilt[name] = p
	return p
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// runQuiet is Env.Exec without a *testing.T (for goroutines) and with a
// timeout of the caller's choosing; a timeout is reported in Stderr.
func runQuiet(e *Env, timeout time.Duration, argv ...string) Result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env, cmd.Dir = e.Environ(), e.Home
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := Result{Args: argv, Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		r.Code, r.Stderr = -1, r.Stderr+"\n(test: "+err.Error()+")"
	}
	return r
}
