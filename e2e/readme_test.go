package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rolevault/rolevault/internal/ststest"
)

// TestREADMEExample takes the example ~/.aws/config of README.md ("Using
// it") as written, adds only what points it at the emulator (endpoint_url)
// and answers the MFA prompt (mfa_process), and runs the commands shown
// under it: the child of `exec dev` gets the profile's region, and the
// AWS CLI run there (as the README's `exec dev -- aws …` does) works. So
// the README's example cannot silently stop working again.
func TestREADMEExample(t *testing.T) {
	skipIfE2EOff(t)
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	must(t, err)
	config, commands := readmeExample(t, string(readme))

	// The emulator, with the accounts, user and roles the example names.
	s := ststest.New()
	url := s.Start()
	t.Cleanup(s.Close)
	keyID, secret := s.AddUser("111111111111", "alice")
	serial, mfaSecret := s.AddMFADevice("111111111111", "alice")
	if !strings.Contains(config, "mfa_serial = "+serial+"\n") {
		t.Fatalf("the README's example no longer names alice's MFA device %s:\n%s", serial, config)
	}
	roles := regexp.MustCompile(`(?m)^role_arn = (\S+)$`).FindAllStringSubmatch(config, -1)
	if len(roles) == 0 {
		t.Fatalf("no role_arn in the README's example:\n%s", config)
	}
	for _, m := range roles {
		must(t, s.AddRole(m[1], ststest.RoleOptions{Trust: []string{"arn:aws:iam::111111111111:user/alice"}, RequireMFA: true}))
	}

	e := NewEnv(t)
	e.Set("AWS_VAULT_BACKEND", "file",
		"AWS_VAULT_FILE_DIR", filepath.Join(e.Home, "keys"),
		"AWS_VAULT_FILE_PASSPHRASE", "readme-passphrase")
	mfa := shQuote(toolBinary(t, "ststest")) + " -totp " + mfaSecret
	local := regexp.MustCompile(`(?m)^(\[profile [^\]]+\])$`).
		ReplaceAllString(config, "$1\nendpoint_url = "+url+"\nmfa_process = "+strings.ReplaceAll(mfa, "$", "$$"))
	e.WriteConfig(t, local)

	region := func(profile string) string {
		m := regexp.MustCompile(`(?ms)\[profile ` + profile + `\]\n[^\[]*?^region = (\S+)$`)
		if r := m.FindStringSubmatch(config); r != nil {
			return r[1]
		}
		return ""
	}

	// rolevault add login (from the environment here; the README's is interactive)
	need(t, commands, "rolevault add login")
	e.Set("AWS_ACCESS_KEY_ID", keyID, "AWS_SECRET_ACCESS_KEY", secret)
	expect(t, e.Run(t, "add", "--env", "login"), 0)
	delete(e.Vars, "AWS_ACCESS_KEY_ID")
	delete(e.Vars, "AWS_SECRET_ACCESS_KEY")

	need(t, commands, "rolevault explain prod")
	expect(t, e.Run(t, "explain", "prod"), 0, "444444444444")
	need(t, commands, "rolevault policy --all")
	expect(t, e.Run(t, "policy", "--all"), 0, `out:"sts:AssumeRole"`, "out:arn:aws:iam::444444444444:role/admin")

	need(t, commands, "rolevault exec prod -- ")
	expect(t, e.Run(t, "exec", "prod", "--", "sh", "-c", `echo "region=$AWS_REGION"`), 0, "out:region="+region("prod")+"\n")

	// rolevault exec dev -- aws …: the child sees dev's region, and the AWS
	// CLI there works with nothing but what rolevault gave it.
	need(t, commands, "rolevault exec dev -- aws ")
	want := region("dev")
	r := e.Run(t, "exec", "dev", "--", "sh", "-c", `echo "AWS_REGION=$AWS_REGION AWS_DEFAULT_REGION=$AWS_DEFAULT_REGION"`)
	expect(t, r, 0)
	if want == "" {
		t.Errorf("the README's [profile dev] names no region: exec dev gives its child none (the child saw %q)", r.Stdout)
	} else if r.Stdout != "AWS_REGION="+want+" AWS_DEFAULT_REGION="+want+"\n" {
		t.Errorf("exec dev: the child should get dev's region %q from the README's config; it saw %q", want, r.Stdout)
	}
	aws := debianAWS(t)
	r = e.Run(t, "exec", "dev", "--", aws, "sts", "get-caller-identity", "--endpoint-url", url, "--output", "json")
	expect(t, r, 0)
	if r.Code == 0 {
		if id := parseCallerIdentity(t, r); id.Account != "222222222222" {
			t.Errorf("the AWS CLI under exec dev is %s, want a session in account 222222222222", id.Arn)
		}
	}

	need(t, commands, "rolevault list")
	expect(t, e.Run(t, "list"), 0, "out:dev", "out:prod")
	need(t, commands, "rolevault doctor prod")
	expect(t, e.Run(t, "doctor", "prod"), 0, "out:every step works", "out:ok    caller")
	need(t, commands, "rolevault export --format=json prod")
	parseProcessCreds(t, e.Run(t, "export", "--format=json", "prod").Stdout)
	need(t, commands, "rolevault login --switch-role prod")
	expect(t, e.Run(t, "login", "--stdout", "--switch-role", "prod"), 0, "out:account=444444444444")
	need(t, commands, "rolevault clear")
	expect(t, e.Run(t, "clear"), 0)
}

// readmeExample returns the first ```ini block after "## Using it" and the
// lines of the ```sh block after it.
func readmeExample(t *testing.T, readme string) (config string, commands []string) {
	t.Helper()
	_, rest, ok := strings.Cut(readme, "\n## Using it\n")
	if !ok {
		t.Fatal(`README.md has no "## Using it" section`)
	}
	block := func(lang string) string {
		_, after, ok := strings.Cut(rest, "\n```"+lang+"\n")
		if !ok {
			t.Fatalf("README.md's \"Using it\" has no ```%s block", lang)
		}
		body, tail, ok := strings.Cut(after, "\n```")
		if !ok {
			t.Fatalf("README.md's ```%s block is not closed", lang)
		}
		rest = tail
		return body + "\n"
	}
	config = block("ini")
	for _, l := range strings.Split(block("sh"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			commands = append(commands, l)
		}
	}
	return config, commands
}

// need fails the test when no command shown in the README starts with
// prefix: the README and this test must change together.
func need(t *testing.T, commands []string, prefix string) {
	t.Helper()
	for _, c := range commands {
		if strings.HasPrefix(c, prefix) {
			return
		}
	}
	t.Fatalf("README.md no longer shows a command starting %q; update the README and this test together. Commands: %q", prefix, commands)
}
