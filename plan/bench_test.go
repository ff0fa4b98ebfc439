package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolevault/rolevault/config"
)

// bigConfig writes a seed-like config of n profiles: a login profile with
// MFA, then role profiles in four accounts, each with source_profile,
// mfa_serial and a region, a few with include_profile, plus a credentials
// file with a handful of IAM users. It is what a large organisation's
// generated ~/.aws/config looks like.
func bigConfig(tb testing.TB, n int) (cfg, creds string) {
	tb.Helper()
	var b strings.Builder
	b.WriteString("[default]\nregion = eu-west-1\noutput = json\n\n")
	b.WriteString("[profile login]\nmfa_serial = arn:aws:iam::026445672617:mfa/alice\n\n")
	b.WriteString("[profile base]\nregion = eu-central-1\nduration_seconds = 3600\n\n")
	accounts := []string{"211047650761", "320385056066", "725335846599", "989175535319"}
	for i := 0; b.Len() > 0 && i < n-3; i++ {
		fmt.Fprintf(&b, "# team %d\n[profile team%05d]\n", i%97, i)
		fmt.Fprintf(&b, "source_profile = login\nrole_arn = arn:aws:iam::%s:role/team%05d-admin\n", accounts[i%4], i)
		b.WriteString("mfa_serial = arn:aws:iam::026445672617:mfa/alice\n")
		if i%10 == 0 {
			b.WriteString("include_profile = base\n")
		} else {
			b.WriteString("region = us-east-1\n")
		}
		b.WriteString("\n")
	}
	var c strings.Builder
	for i := 0; i < 5; i++ {
		fmt.Fprintf(&c, "[user%d]\naws_access_key_id = AKIAEXAMPLE%09d\naws_secret_access_key = secret%d\n\n", i, i, i)
	}
	dir := tb.TempDir()
	cfg, creds = filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(creds, []byte(c.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	return cfg, creds
}

// BenchmarkLoadAndPlan is what every exec/export pays before touching the
// keyring: read both files, resolve one profile and plan it. Target: under
// 20ms for 10,000 profiles.
func BenchmarkLoadAndPlan(b *testing.B) {
	cfg, creds := bigConfig(b, 10000)
	opts := config.LoadOptions{ConfigFile: cfg, CredentialsFile: creds, LookupEnv: mapEnv(nil)}
	b.ReportAllocs()
	for b.Loop() {
		c, err := config.Load(opts)
		if err != nil {
			b.Fatal(err)
		}
		p, err := c.Resolve("team05000", config.Overrides{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := New(p, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProfileNames is what `list --profiles` needs: load and list.
func BenchmarkProfileNames(b *testing.B) {
	cfg, creds := bigConfig(b, 10000)
	opts := config.LoadOptions{ConfigFile: cfg, CredentialsFile: creds, LookupEnv: mapEnv(nil)}
	b.ReportAllocs()
	for b.Loop() {
		c, err := config.Load(opts)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(c.ProfileNames()); n != 10000+5 {
			b.Fatalf("%d profiles", n)
		}
	}
}

// BenchmarkResolveAndPlan isolates the part after loading, which must stay
// small whatever the config's size.
func BenchmarkResolveAndPlan(b *testing.B) {
	cfg, creds := bigConfig(b, 10000)
	c, err := config.Load(config.LoadOptions{ConfigFile: cfg, CredentialsFile: creds, LookupEnv: mapEnv(nil)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := c.Resolve("team05000", config.Overrides{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := New(p, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
