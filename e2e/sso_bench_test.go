//go:build unix

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkWarmExportJSONSSO is BenchmarkWarmExportJSON for a profile that
// signs in with IAM Identity Center: after one sign-in (the fake browser
// approves it), a warm export is served from the cached role session.
func BenchmarkWarmExportJSONSSO(b *testing.B) {
	w := newBenchWorld(b)
	const startURL = "https://d-bench00001.awsapps.com/start"
	w.sts.AddSSOInstance(startURL, "us-east-1")
	w.sts.AddSSOAssignment(startURL, "555555555555", "dev", "Dev")
	bin := filepath.Join(b.TempDir(), "bin")
	if err := os.MkdirAll(bin, 0o700); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "xdg-open"), toolPackages["fakebrowser"]).CombinedOutput(); err != nil {
		b.Fatalf("building the fake browser: %v\n%s", err, out)
	}
	cfg := filepath.Join(w.home, ".aws", "config")
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	url := w.sts.URL()
	fmt.Fprintf(f, "[profile sso-dev]\nsso_session = corp\nsso_account_id = 555555555555\nsso_role_name = Dev\nregion = us-east-1\nendpoint_url = %s\n"+
		"[sso-session corp]\nsso_start_url = %s\nsso_region = us-east-1\n", url, startURL)
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	for i, kv := range w.env {
		if len(kv) > 5 && kv[:5] == "PATH=" {
			w.env[i] = "PATH=" + bin + ":" + kv[5:]
		}
	}
	w.env = append(w.env, "FAKEBROWSER_SYNC=1", "FAKEBROWSER_LOG="+filepath.Join(w.home, "tabs.log"))
	w.warm(b, "export", "--format=json", "sso-dev")
	if c := w.sts.SSOCounts(); c.GetRoleCredentials != 0 || len(c.TokenByGrant) != 0 {
		b.Errorf("warm SSO exports called Identity Center: %+v", c)
	}
}
