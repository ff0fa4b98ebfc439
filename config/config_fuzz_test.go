package config

import (
	"errors"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzLoadConfig feeds arbitrary config and credentials files to the loader
// and checks what must hold for any input:
//
//   - loading never panics; it succeeds or returns a *ConfigError;
//   - the indexed loader and a whole-file ini.v1 parse agree: same success,
//     same profiles, same keys and values in every section;
//   - Resolve of every listed profile returns a profile or a *ConfigError,
//     and returns promptly (no cycle can make it loop);
//
// FuzzPlan (package plan) runs the same inputs on to a plan.
//
// Seeds live in testdata/fuzz/FuzzLoadConfig: realistic layouts, cycles,
// malformed lines, and every crasher found so far.
func FuzzLoadConfig(f *testing.F) {
	f.Add(seedConfig, seedCredentials)
	// Long values must not make long messages (issue 9, point 9).
	long := strings.Repeat("x", 5000)
	f.Add("[profile a]\nrole_arn = "+long+"\n[profile b]\nsource_profile = "+long+"\n["+long+"]\n", "["+long+"]\naws_access_key_id = A\n")
	env := mapEnv(map[string]string{"AWS_MFA_SERIAL": "arn:aws:iam::111111111111:mfa/fuzz"})
	f.Fuzz(func(t *testing.T, config, credentials string) {
		// Loading has no timeout of its own, and the fuzzer none per input:
		// a hang would stall it silently. Fail instead, so the input is
		// saved as a crasher.
		done := make(chan struct{})
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		go func() {
			defer close(done)
			checkLoadConfig(t, env, config, credentials)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("loading did not finish:\nconfig %q\ncredentials %q", config, credentials)
		}
		// Memory: loading, a whole-file parse and up to 24 Resolves may
		// each read every byte a few times, but nothing may grow faster
		// than the input (a cycle, a chain, a value repeated).
		runtime.ReadMemStats(&after)
		in := uint64(len(config) + len(credentials))
		if alloc, limit := after.TotalAlloc-before.TotalAlloc, 16<<20+2048*in; alloc > limit {
			t.Fatalf("allocated %d bytes for %d bytes of input (limit %d)", alloc, in, limit)
		}
	})
}

// maxMessage bounds an error or warning about any input: values are quoted
// cut to maxQuoted, so only the paths and the fixed text remain.
const maxMessage = 1024

func checkMessage(t *testing.T, what, msg string) {
	t.Helper()
	if len(msg) > maxMessage {
		t.Fatalf("%s: %d-byte message: %.200q…", what, len(msg), msg)
	}
	if strings.Contains(msg, "\n") {
		t.Fatalf("%s: message is not one line: %q", what, msg)
	}
}

func checkLoadConfig(t *testing.T, env func(string) (string, bool), config, credentials string) {
	{
		cfg := iniFile{path: "config", data: []byte(config)}
		creds := iniFile{path: "credentials", data: []byte(credentials)}
		c, err := newConfig(cfg, creds, env, false)
		whole, wholeErr := newConfig(cfg, creds, env, true)
		if (err == nil) != (wholeErr == nil) {
			t.Fatalf("indexed load: %v; whole-file load: %v", err, wholeErr)
		}
		if err != nil {
			assertConfigError(t, err, "Load")
			return
		}
		for _, w := range c.Warnings {
			checkMessage(t, "Load warning", w)
		}
		if !slices.Equal(c.ProfileNames(), whole.ProfileNames()) {
			t.Fatalf("profiles differ: indexed %q, whole %q", c.ProfileNames(), whole.ProfileNames())
		}
		for _, name := range c.ProfileNames() {
			compareSections(t, name, c.profiles[name], whole.profiles[name])
		}
		for name, ss := range c.ssoSessions {
			a, errA := ss.values()
			b, errB := whole.ssoSessions[name].values()
			if errA != nil || errB != nil || !maps.Equal(a, b) {
				t.Fatalf("sso-session %q: indexed %v (%v), whole %v (%v)", name, a, errA, b, errB)
			}
		}

		names := c.ProfileNames()
		// Bound the work per input: the fuzzer minimises every interesting
		// input by re-running it thousands of times, so a slow input stalls
		// it for minutes.
		if len(names) > 24 {
			names = names[:24]
		}
		for _, name := range names {
			done := make(chan struct{})
			var p *Profile
			var rerr error
			go func() {
				defer close(done)
				p, rerr = c.Resolve(name, Overrides{})
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("Resolve(%q) did not return", name)
			}
			if rerr != nil {
				assertConfigError(t, rerr, "Resolve("+name+")")
				continue
			}
			if p == nil || p.Name != name {
				t.Fatalf("Resolve(%q) = %+v", name, p)
			}
			for _, w := range p.Warnings {
				checkMessage(t, "Resolve warning", w)
			}
			for q, n := p, 0; q != nil; q, n = q.Source, n+1 {
				if n > len(c.ProfileNames()) {
					t.Fatalf("Resolve(%q): source chain longer than the config", name)
				}
			}
		}
	}
}

func assertConfigError(t *testing.T, err error, what string) {
	t.Helper()
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Kind == nil || !errors.Is(err, ce.Kind) {
		t.Fatalf("%s: error %v (%T) is not a typed *ConfigError", what, err, err)
	}
	if ce.Hint() == "" {
		t.Fatalf("%s: error %v has no hint", what, err)
	}
	checkMessage(t, what, err.Error())
	checkMessage(t, what+" hint", ce.Hint())
}

func compareSections(t *testing.T, name string, a, b *profileSections) {
	t.Helper()
	for _, pair := range []struct {
		what string
		x, y *sectionSource
	}{{"config", &a.config, &b.config}, {"credentials", &a.credentials, &b.credentials}} {
		va, errA := pair.x.values()
		vb, errB := pair.y.values()
		if errA != nil || errB != nil {
			t.Fatalf("profile %q %s: indexed err %v, whole err %v", name, pair.what, errA, errB)
		}
		if !maps.Equal(va, vb) {
			t.Fatalf("profile %q %s sections differ:\nindexed %q\nwhole   %q", name, pair.what, va, vb)
		}
	}
}
