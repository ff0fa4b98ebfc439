package e2e

// Whole-process benchmarks for `make bench`: the warm credential path as a
// person's shell or an SDK runs it (a new rolevault process each time), next
// to the floor program (e2e/internal/floor: 99designs/keyring's file backend,
// one item read, a credential_process document) and a hello-world Go binary
// started the same way; 8 concurrent cold callers next to one; plus the STS
// calls the cold path of each kind of profile makes.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolevault/rolevault/internal/ststest"
)

// benchWorld is a file-keyring setup with alice's key stored and warm
// sessions for a role profile behind an MFA session.
type benchWorld struct {
	env       []string
	sts       *ststest.Server
	home      string
	writeCode func()
}

func newBenchWorld(b testing.TB) *benchWorld {
	b.Helper()
	if binary == "" || buildErr != nil {
		b.Skipf("rolevault binary not built: %v", buildErr)
	}
	s := ststest.New()
	url := s.Start()
	b.Cleanup(s.Close)
	id, secret := s.AddUser("111111111111", "alice")
	serial, totp := s.AddMFADevice("111111111111", "alice")
	if err := s.AddRole("arn:aws:iam::444444444444:role/admin", ststest.RoleOptions{Trust: []string{"arn:aws:iam::111111111111:root"}, RequireMFA: true, MaxSessionDuration: 4 * time.Hour}); err != nil {
		b.Fatal(err)
	}
	if err := s.AddRole("arn:aws:iam::222222222222:role/dev", ststest.RoleOptions{Trust: []string{"arn:aws:iam::111111111111:root"}}); err != nil {
		b.Fatal(err)
	}
	if err := s.AddRole("arn:aws:iam::444444444444:role/breakglass", ststest.RoleOptions{Trust: []string{"arn:aws:iam::444444444444:role/admin"}}); err != nil {
		b.Fatal(err)
	}
	home := b.TempDir()
	codeFile := filepath.Join(home, "code")
	config := fmt.Sprintf(`[default]
region = us-east-1
[profile login]
endpoint_url = %[1]s
[profile login-mfa]
endpoint_url = %[1]s
mfa_serial = %[2]s
mfa_process = cat %[3]s
[profile dev]
source_profile = login
role_arn = arn:aws:iam::222222222222:role/dev
endpoint_url = %[1]s
[profile prod]
source_profile = login-mfa
role_arn = arn:aws:iam::444444444444:role/admin
mfa_serial = %[2]s
mfa_process = cat %[3]s
endpoint_url = %[1]s
[profile breakglass]
source_profile = prod
role_arn = arn:aws:iam::444444444444:role/breakglass
endpoint_url = %[1]s
`, url, serial, codeFile)
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(home, ".aws"), 0o700))
	must(os.WriteFile(filepath.Join(home, ".aws", "config"), []byte(config), 0o600))
	w := &benchWorld{sts: s, home: home, env: []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"AWS_CONFIG_FILE=" + filepath.Join(home, ".aws", "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, ".aws", "credentials"),
		"AWS_VAULT_BACKEND=file", "AWS_VAULT_FILE_DIR=" + filepath.Join(home, "keyring"),
		"AWS_VAULT_FILE_PASSPHRASE=bench", "ROLEVAULT_CACHE_DIR=" + filepath.Join(home, "cache"),
		"AWS_EC2_METADATA_DISABLED=true",
	}}
	// A fresh code for each cold run that needs one (AWS rejects reuse).
	w.writeCode = func() { must(os.WriteFile(codeFile, []byte(ststest.TOTP(totp, s.Now())+"\n"), 0o600)) }
	for _, p := range []string{"login", "login-mfa"} {
		out, err := w.run("", []string{"AWS_ACCESS_KEY_ID=" + id, "AWS_SECRET_ACCESS_KEY=" + secret}, "add", "--env", p)
		if err != nil {
			b.Fatalf("add %s: %v\n%s", p, err, out)
		}
	}
	return w
}

func (w *benchWorld) run(stdinFile string, extra []string, args ...string) (string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(append([]string{}, w.env...), extra...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// helloWorld builds the smallest Go program, started the same way, as the
// floor a warm rolevault run is compared with.
func helloWorld(b testing.TB) string {
	dir := b.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(dir, "hello")
	cmd := exec.Command("go", "build", "-o", bin, src)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GO111MODULE=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building hello world: %v\n%s", err, out)
	}
	return bin
}

// keyringReads runs args with --debug and counts the keyring reads it made.
func (w *benchWorld) keyringReads(b testing.TB, args ...string) int {
	out, err := w.run("", nil, append([]string{"--debug"}, args...)...)
	if err != nil {
		b.Fatalf("%v: %v\n%s", args, err, out)
	}
	return strings.Count(out, "keyring read ")
}

func (w *benchWorld) warm(b *testing.B, args ...string) {
	w.writeCode()
	if out, err := w.run("", nil, args...); err != nil {
		b.Fatalf("cold run %v: %v\n%s", args, err, out)
	}
	reads := w.keyringReads(b, args...)
	// The floor reads the file keyring: a world of its own, whatever
	// backend (or agent) this one uses.
	floor := newBenchWorld(b).floor(b)
	w.sts.ResetCounters()
	vsFloor(b, floor, func() error {
		if out, err := w.run("", nil, args...); err != nil {
			return fmt.Errorf("%v: %v\n%s", args, err, out)
		}
		return nil
	})
	b.ReportMetric(float64(reads), "keyring-reads/op")
	b.ReportMetric(float64(len(w.sts.History()))/float64(b.N), "sts-calls/op")
}

// buildFloor builds e2e/internal/floor, the yardstick of the warm figures,
// as a Go program is normally built (`go build`, cgo as the toolchain
// defaults: on Linux it is dynamically linked, as os/user and net make it);
// static builds it with CGO_ENABLED=0 instead, as `make build` builds
// rolevault on Linux, for the row that compares like with like.
func buildFloor(b testing.TB, static bool) string {
	bin := filepath.Join(b.TempDir(), "floor")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/rolevault/rolevault/e2e/internal/floor")
	// Whatever CGO_ENABLED the bench itself runs with: the toolchain's
	// default, or 0 for the static one.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "CGO_ENABLED=") })
	if static {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building the floor program: %v\n%s", err, out)
	}
	return bin
}

// floor returns a run of the floor program on this world, which must use
// the file backend: the same keyring directory and passphrase, reading the
// item a warm `export prod` reads (the first one --debug names), so it has
// warmed prod's sessions first.
func (w *benchWorld) floor(b testing.TB) func() error { return w.floorBuilt(b, false) }

// floorBuilt is floor, built static or as go build builds it.
func (w *benchWorld) floorBuilt(b testing.TB, static bool) func() error {
	w.writeCode()
	out, err := w.run("", nil, "--debug", "export", "--format=json", "prod")
	if err != nil {
		b.Fatalf("export prod: %v\n%s", err, out)
	}
	_, rest, ok := strings.Cut(out, "keyring read 1: ")
	if !ok {
		b.Fatalf("export prod read no keyring item:\n%s", out)
	}
	item, _, _ := strings.Cut(rest, "\n")
	bin := buildFloor(b, static)
	run := func() error {
		cmd := exec.Command(bin, item)
		cmd.Env = w.env
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), `"AccessKeyId"`) {
			return fmt.Errorf("floor: %v\n%s", err, out)
		}
		return nil
	}
	if err := run(); err != nil {
		b.Fatal(err)
	}
	return run
}

// vsFloor times b.N runs of run, each next to a run of floor (outside the
// timer, in alternating order), and reports x-floor: the median of the
// ratios of each run to the floor run beside it. Measured in pairs, the load
// other processes put on the machine weighs on both alike; ms-median is
// run's own median.
func vsFloor(b *testing.B, floor, run func() error) {
	b.Helper()
	own := make([]time.Duration, 0, b.N)
	base := make([]time.Duration, 0, b.N)
	timed := func(f func() error, into *[]time.Duration) {
		t := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		*into = append(*into, time.Since(t))
	}
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			b.StopTimer()
			timed(floor, &base)
			b.StartTimer()
			timed(run, &own)
		} else {
			timed(run, &own)
			b.StopTimer()
			timed(floor, &base)
			b.StartTimer()
		}
	}
	b.StopTimer()
	ratios := make([]time.Duration, len(own))
	for i := range own {
		ratios[i] = own[i] * 1000 / base[i] // in thousandths
	}
	b.ReportMetric(float64(median(ratios))/1000, "x-floor")
	b.ReportMetric(float64(median(own))/1e6, "ms-median")
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func BenchmarkWarmExportJSON(b *testing.B) {
	newBenchWorld(b).warm(b, "export", "--format=json", "prod")
}

func BenchmarkWarmExecTrue(b *testing.B) {
	newBenchWorld(b).warm(b, "exec", "prod", "--", "true")
}

// BenchmarkFloor is the floor program alone; `make bench` divides the
// figures of benchmarks that do not run it side by side (vsFloor) by this.
func BenchmarkFloor(b *testing.B) {
	w := newBenchWorld(b)
	floor := w.floor(b)
	vsFloor(b, floor, floor)
}

// BenchmarkFloorStatic is the floor program built static (CGO_ENABLED=0),
// as rolevault is built on Linux, side by side with the floor as go build
// builds it.
func BenchmarkFloorStatic(b *testing.B) {
	w := newBenchWorld(b)
	vsFloor(b, w.floor(b), w.floorBuilt(b, true))
}

// BenchmarkWarmExportJSONStaticFloor is BenchmarkWarmExportJSON side by
// side with the static floor: both programs built the same way.
func BenchmarkWarmExportJSONStaticFloor(b *testing.B) {
	w := newBenchWorld(b)
	args := []string{"export", "--format=json", "prod"}
	w.writeCode()
	if out, err := w.run("", nil, args...); err != nil {
		b.Fatalf("cold run %v: %v\n%s", args, err, out)
	}
	floor := newBenchWorld(b).floorBuilt(b, true)
	vsFloor(b, floor, func() error {
		if out, err := w.run("", nil, args...); err != nil {
			return fmt.Errorf("%v: %v\n%s", args, err, out)
		}
		return nil
	})
}

func BenchmarkHelloWorldProcess(b *testing.B) {
	bin := helloWorld(b)
	floor := newBenchWorld(b).floor(b)
	vsFloor(b, floor, func() error {
		if out, err := exec.Command(bin).CombinedOutput(); err != nil {
			return fmt.Errorf("%v\n%s", err, out)
		}
		return nil
	})
}

// TestColdPathSTSCalls records, for each kind of profile, the STS calls an
// empty cache costs and that a second run costs nothing. `make bench` prints
// the table it logs.
func TestColdPathSTSCalls(t *testing.T) {
	skipIfE2EOff(t)
	w := newBenchWorld(t)
	cases := []struct {
		name string
		args []string
		want string // the calls, in order
	}{
		{"IAM user, no MFA", []string{"export", "--format=json", "login"}, "GetSessionToken"},
		{"role, no MFA (AssumeRole with the keys)", []string{"export", "--format=json", "dev"}, "AssumeRole"},
		{"IAM user with MFA", []string{"export", "--format=json", "login-mfa"}, "GetSessionToken"},
		{"role with MFA (reuses that MFA session)", []string{"export", "--format=json", "prod"}, "AssumeRole"},
		{"role → role chain (reuses prod)", []string{"export", "--format=json", "breakglass"}, "AssumeRole"},
		{"role with MFA, --no-session", []string{"export", "--format=json", "--no-session", "prod"}, "AssumeRole"},
		{"role with MFA, 2h (direct AssumeRole)", []string{"export", "--format=json", "--duration=2h", "prod"}, "AssumeRole"},
	}
	t.Logf("%-45s %-32s %s", "profile kind", "cold-path STS calls", "warm")
	for i, tc := range cases {
		// Each case may need its own MFA code, and AWS accepts a code once:
		// move the emulator's clock to the next 30-second step.
		offset := time.Duration(i+1) * 31 * time.Second
		w.sts.SetNow(func() time.Time { return time.Now().Add(offset) })
		w.writeCode()
		w.sts.ResetCounters()
		if out, err := w.run("", nil, tc.args...); err != nil {
			t.Fatalf("%s: %v\n%s", tc.name, err, out)
		}
		var calls []string
		for _, c := range w.sts.History() {
			calls = append(calls, c.Action)
		}
		w.sts.ResetCounters()
		if out, err := w.run("", nil, tc.args...); err != nil {
			t.Fatalf("%s warm: %v\n%s", tc.name, err, out)
		}
		warm := len(w.sts.History())
		t.Logf("%-45s %-32s %d", tc.name, strings.Join(calls, " → "), warm)
		if got := strings.Join(calls, " "); got != tc.want || warm != 0 {
			t.Errorf("%s: cold calls %q, warm %d; want %q and 0", tc.name, got, warm, tc.want)
		}
	}
}

// BenchmarkVersionProcess is rolevault's own start-up floor (runtime, package
// initialisation, building the command line) with no work, to separate that
// cost from the credential path's.
func BenchmarkVersionProcess(b *testing.B) {
	w := newBenchWorld(b)
	vsFloor(b, w.floor(b), func() error {
		if out, err := w.run("", nil, "--version"); err != nil {
			return fmt.Errorf("%v\n%s", err, out)
		}
		return nil
	})
}

// BenchmarkListProfiles10k is `rolevault list --profiles` as a whole process
// on a generated 10,000-profile config of the seeds' shape (vault's
// BenchmarkProfileNames times the library part alone).
func BenchmarkListProfiles10k(b *testing.B) {
	w := newBenchWorld(b)
	var cfg strings.Builder
	cfg.WriteString("[default]\nregion = eu-west-1\n\n[profile login]\nmfa_serial = arn:aws:iam::111111111111:mfa/alice\n\n")
	for i := range 10000 {
		fmt.Fprintf(&cfg, "[profile team%05d]\nsource_profile = login\nrole_arn = arn:aws:iam::222222222222:role/team%05d\nmfa_serial = arn:aws:iam::111111111111:mfa/alice\nregion = us-east-1\n\n", i, i)
	}
	path := filepath.Join(w.home, "big-config")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	extra := []string{"AWS_CONFIG_FILE=" + path}
	out, err := w.run("", extra, "list", "--profiles")
	if err != nil || strings.Count(out, "\n") != 10002 {
		b.Fatalf("list --profiles printed %d lines: %v", strings.Count(out, "\n"), err)
	}
	b.ResetTimer()
	for range b.N {
		if out, err := w.run("", extra, "list", "--profiles"); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
}

// stsLatency is the emulator's delay on each STS call in the cold
// benchmarks. A cold call's time is mostly STS's: a new process opens a new
// connection, so each call costs TCP and TLS handshakes plus the request,
// three round trips, to a regional endpoint 30-40 ms away (or the global
// sts.amazonaws.com, in us-east-1, from elsewhere) — about 100 ms.
const stsLatency = 100 * time.Millisecond

// BenchmarkColdConcurrent8 is the single-flight case: 8 processes ask at once
// for a profile whose MFA session and role session are both missing (8 SDK
// clients or terminals starting together). One of them asks for the code and
// calls STS; the others wait and read what it cached. Each op starts one
// cold call on a fresh chain, then 8 concurrent cold callers on another, and
// x-one is the median time until the last of the 8 exits over the median
// single call (target 1.2x). Each op also checks that the 8 made exactly one
// GetSessionToken and one AssumeRole call.
func BenchmarkColdConcurrent8(b *testing.B) { coldConcurrent8(b, false) }

// BenchmarkColdConcurrent8Agent is the same with an agent running: every
// caller, the single one too, reaches the keyring and the lock through it.
func BenchmarkColdConcurrent8Agent(b *testing.B) { coldConcurrent8(b, true) }

func coldConcurrent8(b *testing.B, withAgent bool) {
	const callers = 8
	args := []string{"export", "--format=json", "prod"}
	fresh := func() *benchWorld {
		b.StopTimer()
		defer b.StartTimer()
		w := newBenchWorld(b)
		if withAgent {
			w.startAgent(b)
		}
		w.sts.SetLatency("GetSessionToken", stsLatency)
		w.sts.SetLatency("AssumeRole", stsLatency)
		w.writeCode()
		w.sts.ResetCounters()
		return w
	}
	var one, eight []time.Duration
	b.ResetTimer()
	for range b.N {
		w := fresh()
		t := time.Now()
		if out, err := w.run("", nil, args...); err != nil {
			b.Fatalf("one cold call: %v\n%s", err, out)
		}
		one = append(one, time.Since(t))

		w = fresh()
		errs := make(chan error, callers)
		t = time.Now()
		for range callers {
			go func() {
				out, err := w.run("", nil, args...)
				if err != nil {
					err = fmt.Errorf("%v\n%s", err, out)
				}
				errs <- err
			}()
		}
		for range callers {
			if err := <-errs; err != nil {
				b.Fatalf("one of %d concurrent cold callers: %v", callers, err)
			}
		}
		eight = append(eight, time.Since(t))
		if g, a := w.sts.Calls("GetSessionToken"), w.sts.Calls("AssumeRole"); g != 1 || a != 1 {
			b.Fatalf("%d concurrent cold callers made %d GetSessionToken and %d AssumeRole calls, want 1 and 1", callers, g, a)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(median(one))/1e6, "one-ms")
	b.ReportMetric(float64(median(eight))/1e6, "eight-ms")
	b.ReportMetric(float64(median(eight))/float64(median(one)), "x-one")
}
