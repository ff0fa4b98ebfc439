package credentials

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/console"
	"github.com/rolevault/rolevault/internal/ststest"
	"github.com/rolevault/rolevault/plan"
)

func TestPartitionURLs(t *testing.T) {
	for _, tc := range []struct {
		region, federation, home string
	}{
		{"", "https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/console/home"},
		{"eu-west-1", "https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/console/home?region=eu-west-1"},
		{"cn-north-1", "https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn/console/home?region=cn-north-1"},
		{"cn-northwest-1", "https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn/console/home?region=cn-northwest-1"},
		{"us-gov-west-1", "https://signin.amazonaws-us-gov.com/federation", "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1"},
		{"us-east-1", "https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/console/home?region=us-east-1"},
	} {
		fed, err := console.FederationEndpoint(tc.region, nil)
		must(t, err)
		home, err := console.ConsoleDestination(tc.region, "")
		must(t, err)
		if fed != tc.federation || home != tc.home {
			t.Errorf("%q: federation %s, home %s; want %s, %s", tc.region, fed, home, tc.federation, tc.home)
		}
	}
	if _, err := console.FederationEndpoint("us-iso-east-1", nil); err == nil {
		t.Error("an isolated region got a public sign-in URL")
	}
	env := func(k string) (string, bool) { return "http://127.0.0.1:8/federation", k == console.FederationURLEnv }
	if fed, _ := console.FederationEndpoint("cn-north-1", env); fed != "http://127.0.0.1:8/federation" {
		t.Errorf("%s ignored: %s", console.FederationURLEnv, fed)
	}
	bad := func(k string) (string, bool) { return "signin.example", k == console.FederationURLEnv }
	if _, err := console.FederationEndpoint("", bad); err == nil {
		t.Errorf("%s without a scheme accepted", console.FederationURLEnv)
	}
}

func TestConsoleDestinationPath(t *testing.T) {
	for _, tc := range []struct{ region, path, want string }{
		{"eu-west-1", "ec2/home", "https://console.aws.amazon.com/ec2/home?region=eu-west-1"},
		{"eu-west-1", "/ec2/v2/home#Instances:", "https://console.aws.amazon.com/ec2/v2/home?region=eu-west-1#Instances:"},
		{"eu-west-1", "s3/buckets?region=us-east-2", "https://console.aws.amazon.com/s3/buckets?region=us-east-2"},
		{"cn-north-1", "iam/home", "https://console.amazonaws.cn/iam/home?region=cn-north-1"},
		{"", "cloudwatch/home", "https://console.aws.amazon.com/cloudwatch/home"},
		{"eu-west-1", "https://eu-west-1.console.aws.amazon.com/lambda/home", "https://eu-west-1.console.aws.amazon.com/lambda/home"},
	} {
		got, err := console.ConsoleDestination(tc.region, tc.path)
		must(t, err)
		if got != tc.want {
			t.Errorf("ConsoleDestination(%q, %q) = %s, want %s", tc.region, tc.path, got, tc.want)
		}
	}
	if _, err := console.ConsoleDestination("eu-west-1", "javascript://x"); err == nil {
		t.Error("a non-https scheme was accepted as --path")
	}
}

func TestSwitchRoleURL(t *testing.T) {
	for _, tc := range []struct{ arn, name, color, want string }{
		{"arn:aws:iam::222222222222:role/developer", "dev", "b7ca9d",
			"https://signin.aws.amazon.com/switchrole?account=222222222222&color=b7ca9d&displayName=dev&roleName=developer"},
		{"arn:aws:iam::222222222222:role/team/ops/Admin", "prod", "",
			"https://signin.aws.amazon.com/switchrole?account=222222222222&displayName=prod&roleName=team%2Fops%2FAdmin"},
		{"arn:aws-cn:iam::333333333333:role/Admin", "cn", "",
			"https://signin.amazonaws.cn/switchrole?account=333333333333&displayName=cn&roleName=Admin"},
		{"arn:aws-us-gov:iam::444444444444:role/Admin", "", "f2b0a9",
			"https://signin.amazonaws-us-gov.com/switchrole?account=444444444444&color=f2b0a9&roleName=Admin"},
	} {
		got, err := console.SwitchRoleURL(tc.arn, tc.name, tc.color)
		must(t, err)
		if got != tc.want {
			t.Errorf("SwitchRoleURL(%s) =\n %s\nwant\n %s", tc.arn, got, tc.want)
		}
	}
	long := "arn:aws:iam::222222222222:role/" + strings.Repeat("p/", 30) + "RoleName"
	if _, err := console.SwitchRoleURL(long, "x", ""); err == nil || !strings.Contains(err.Error(), "64") {
		t.Errorf("path+name over 64 characters: err = %v", err)
	}
	for _, bad := range []string{"arn:aws:iam::222222222222:user/alice", "arn:aws-iso:iam::222222222222:role/x", "developer"} {
		if _, err := console.SwitchRoleURL(bad, "x", ""); err == nil {
			t.Errorf("SwitchRoleURL(%s) accepted", bad)
		}
	}
}

func TestConsoleColor(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "green": "b7ca9d", "Yellow": "efda95", "RED": "f2b0a9", "orange": "fbc8aa", "blue": "83d4e8",
		"2CA02C": "2ca02c", "#b7ca9d": "b7ca9d",
	} {
		got, err := console.ConsoleColor(in)
		if err != nil || got != want {
			t.Errorf("ConsoleColor(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"purple", "12345", "#12345g", "b7ca9d00"} {
		if _, err := console.ConsoleColor(bad); err == nil || !strings.Contains(err.Error(), console.ColorKey) {
			t.Errorf("ConsoleColor(%q): err = %v", bad, err)
		}
	}
}

func TestProfileSetting(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	must(t, os.WriteFile(cfg, []byte("[default]\nrolevault_color = blue\n[profile base]\nrolevault_color = red\n[profile dev]\ninclude_profile = base\nRoleVault_Color = green \n[profile prod]\ninclude_profile = base\n"), 0o600))
	c, err := config.Load(config.LoadOptions{ConfigFile: cfg, CredentialsFile: filepath.Join(dir, "none"), LookupEnv: func(string) (string, bool) { return "", false }})
	must(t, err)
	for _, tc := range []struct {
		profile, want string
		ok            bool
	}{{"dev", "green", true}, {"prod", "", false}, {"default", "blue", true}, {"missing", "", false}} {
		got, ok, err := c.ProfileSetting(tc.profile, console.ColorKey)
		if err != nil || got != tc.want || ok != tc.ok {
			t.Errorf("ProfileSetting(%s) = %q, %v, %v; want %q, %v (own section only)", tc.profile, got, ok, err, tc.want, tc.ok)
		}
	}
}

func TestLoginURL(t *testing.T) {
	got := console.LoginURL("https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/console/home?region=eu-west-1", "tok+/=")
	u, err := url.Parse(got)
	must(t, err)
	q := u.Query()
	if u.Host != "signin.aws.amazon.com" || q.Get("Action") != "login" || q.Get("Issuer") != console.SigninIssuer ||
		q.Get("Destination") != "https://console.aws.amazon.com/console/home?region=eu-west-1" || q.Get("SigninToken") != "tok+/=" {
		t.Errorf("LoginURL = %s", got)
	}
}

// TestGetSigninTokenBySessionKind presents each kind of session to the
// emulated federation endpoint, which accepts what AWS accepts.
func TestGetSigninTokenBySessionKind(t *testing.T) {
	w := newWorld(t)
	hc, err := NewHTTPClient(nil)
	must(t, err)
	endpoint := w.url + "/federation"
	ctx := context.Background()
	p := w.provider()

	// A role assumed straight from the user's keys (not chained), which is
	// what the plan does when --duration asks for more than an hour.
	const longRole = "arn:aws:iam::222222222222:role/long"
	must(t, w.sts.AddRole(longRole, ststest.RoleOptions{Trust: []string{"arn:aws:iam::111111111111:root"}, MaxSessionDuration: 4 * time.Hour}))
	role, err := p.Retrieve(ctx, &plan.Plan{Profile: &config.Profile{Name: "long"}, EndpointURL: w.url, Steps: []plan.Step{
		{Kind: plan.StepStoredKeys, Profile: "login"},
		{Kind: plan.StepAssumeRole, Profile: "long", RoleARN: longRole, RoleSessionName: "alice", Duration: 2 * time.Hour}}})
	must(t, err)
	chained, err := p.Retrieve(ctx, w.rolePlan("dev", devRole))
	must(t, err)
	gst, err := p.Retrieve(ctx, &plan.Plan{Profile: &config.Profile{Name: "login"}, EndpointURL: w.url, Steps: []plan.Step{
		{Kind: plan.StepStoredKeys, Profile: "login"}, {Kind: plan.StepGetSessionToken, Profile: "login", Duration: time.Hour}}})
	must(t, err)
	fed, err := p.Retrieve(ctx, &plan.Plan{Profile: &config.Profile{Name: "login"}, EndpointURL: w.url, Steps: []plan.Step{
		{Kind: plan.StepStoredKeys, Profile: "login"}, {Kind: plan.StepGetFederationToken, Profile: "login", Duration: time.Hour}}})
	must(t, err)
	if s, _ := w.sts.Session(fed.AccessKeyID); s.FederatedName != "alice" {
		t.Errorf("federation name = %q, want the user name from the caller ARN", s.FederatedName)
	}

	tok, err := console.GetSigninToken(ctx, hc, endpoint, role, 2*time.Hour)
	must(t, err)
	info, err := w.sts.VerifySigninToken(tok)
	must(t, err)
	if info.Session.AccessKeyID != role.AccessKeyID || info.ConsoleSessionDuration != 2*time.Hour {
		t.Errorf("token for %s lasting %s", info.Session.AccessKeyID, info.ConsoleSessionDuration)
	}
	tok, err = console.GetSigninToken(ctx, hc, endpoint, fed, 0)
	must(t, err)
	if _, err := w.sts.VerifySigninToken(tok); err != nil {
		t.Errorf("federation token's sign-in token: %v", err)
	}

	var se *console.SigninError
	if _, err := console.GetSigninToken(ctx, hc, endpoint, chained, 2*time.Hour); !errors.As(err, &se) {
		t.Errorf("2h console session for a chained role: err = %v, want the endpoint's refusal", err)
	}
	if _, err := console.GetSigninToken(ctx, hc, endpoint, gst, 0); !errors.As(err, &se) || se.Status != 400 || !strings.Contains(err.Error(), "GetSessionToken") {
		t.Errorf("GetSessionToken session: err = %v, want the endpoint's 400", err)
	}
	if _, err := console.GetSigninToken(ctx, hc, endpoint, fed, time.Hour); !errors.As(err, &se) {
		t.Errorf("SessionDuration with a federation token: err = %v, want the endpoint's refusal", err)
	}
	if _, err := console.GetSigninToken(ctx, hc, endpoint, w.aliceKey, 0); err == nil || w.sts.Calls("getSigninToken") != 5 {
		t.Errorf("long-term keys were sent to the federation endpoint (err = %v)", err)
	}
	if _, err := console.GetSigninToken(ctx, hc, "http://127.0.0.1:9/federation", role, 0); err == nil || strings.Contains(err.Error(), role.SecretAccessKey) {
		t.Errorf("unreachable endpoint: err = %v (must not carry the secret)", err)
	}
}

func TestEnvironmentLoginPlan(t *testing.T) {
	w := newWorld(t)
	env := map[string]string{"AWS_ACCESS_KEY_ID": w.aliceKey.AccessKeyID, "AWS_SECRET_ACCESS_KEY": w.aliceKey.SecretAccessKey}
	p := w.provider()
	p.LookupEnv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	pl, err := plan.ForEnvironmentLogin("eu-west-1", w.url, true, 0)
	must(t, err)
	creds, err := p.Retrieve(context.Background(), pl)
	must(t, err)
	if s, ok := w.sts.Session(creds.AccessKeyID); !ok || s.Kind != ststest.KindFederationToken || s.RequestedDuration != time.Hour {
		t.Errorf("long-term keys in the environment gave %+v, want a 1h federation token", s)
	}
	pl, err = plan.ForEnvironmentLogin("", "", false, 0)
	must(t, err)
	env["AWS_SESSION_TOKEN"] = "token"
	creds, err = p.Retrieve(context.Background(), pl)
	must(t, err)
	if len(pl.Steps) != 1 || creds.SessionToken != "token" {
		t.Errorf("temporary credentials were not used as they are: %+v", pl.Steps)
	}
	if _, err := plan.ForEnvironmentLogin("", "", true, 40*time.Hour); err == nil {
		t.Error("a 40h federation token was planned")
	}
}
