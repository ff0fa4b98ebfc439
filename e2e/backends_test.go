package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	jose "github.com/dvsekhvalnov/jose2go"
)

// The key every suite stores, and the one it plants the way aws-vault v7
// would have stored it, to be read by rolevault.
const (
	e2eKeyID     = "AKIAIOSFODNN7EXAMPLE"
	e2eSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	legacyKeyID  = "AKIALEGACY0000000001"
	legacySecret = "legacySecret000000000000000000000000001"
	// aws-vault v7 marshals aws-sdk-go-v2's aws.Credentials of its day.
	legacyCreds = `{"AccessKeyID":"` + legacyKeyID + `","SecretAccessKey":"` + legacySecret +
		`","SessionToken":"","Source":"","CanExpire":false,"Expires":"0001-01-01T00:00:00Z"}`
	collectionPassword = "e2e-collection-password"
)

// legacyItem is the keyring.Item JSON that the secret-service and pass
// backends keep for an aws-vault v7 key.
func legacyItem(profile, creds string) string {
	b, _ := json.Marshal(map[string]any{
		"Key": profile, "Data": []byte(creds), "Label": "aws-vault (" + profile + ")", "Description": "",
		"KeychainNotTrustApplication": true, "KeychainNotSynchronizable": false,
	})
	return string(b)
}

// storedCreds is what rolevault must have written for e2eKeyID.
type storedCreds struct {
	AccessKeyID, SecretAccessKey, SessionToken, Source string
	CanExpire                                          bool
}

func parseCreds(t *testing.T, data []byte) storedCreds {
	t.Helper()
	var c storedCreds
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("stored data %q is not aws.Credentials JSON: %v", data, err)
	}
	return c
}

// parseItem reads a keyring.Item JSON as the secret-service and pass backends
// store it, checks aws-vault's label, and returns the credentials inside.
func parseItem(t *testing.T, profile string, out []byte) storedCreds {
	t.Helper()
	var it struct {
		Key, Label                  string
		Data                        []byte
		KeychainNotTrustApplication bool
	}
	if err := json.Unmarshal(out, &it); err != nil {
		t.Fatalf("stored item %q is not keyring.Item JSON: %v", out, err)
	}
	if it.Key != profile || it.Label != "aws-vault ("+profile+")" || !it.KeychainNotTrustApplication {
		t.Errorf("stored item %q does not have aws-vault's key/label/flags", out)
	}
	return parseCreds(t, it.Data)
}

// backendCase says how to run the suite against one backend and how to look
// at its items from outside with the backend's own tools.
type backendCase struct {
	name  string
	wrap  []string
	tools [][2]string // program, Debian package
	setup func(t *testing.T, e *Env) []Step
	// readStep prints the stored item of profile; it must fail once removed.
	readStep func(e *Env, profile string) Step
	// parse turns readStep's output into the stored credentials.
	parse func(t *testing.T, e *Env, out string) storedCreds
	// plantStep stores the aws-vault-layout item "legacy" from outside.
	plantStep func(e *Env) Step
	// planted lists what list --credentials --check must show after plantStep.
	planted []string
}

func backendCases() []backendCase {
	fixtures, _ := filepath.Abs(filepath.Join("..", "keychain", "testdata", "filekeyring-jose2go-v1.5.0"))
	return []backendCase{
		{
			name: "file",
			setup: func(t *testing.T, e *Env) []Step {
				// The fixtures were written with this passphrase by keyring v1.2.2 + jose2go v1.5.0.
				e.Set("AWS_VAULT_BACKEND", "file", "AWS_VAULT_FILE_PASSPHRASE", "rolevault-fixture")
				return nil
			},
			readStep: func(e *Env, p string) Step {
				// Modes first (directory, then item), then the item itself.
				return Cmd("sh", "-c", `stat -c %a "$1" "$1/$2" && cat "$1/$2"`, "sh", filepath.Join(e.Home, ".awsvault", "keys"), p)
			},
			parse: func(t *testing.T, e *Env, out string) storedCreds {
				lines := strings.SplitN(out, "\n", 3)
				if len(lines) != 3 || lines[0] != "700" || lines[1] != "600" {
					t.Errorf("file keyring modes (dir, item) = %q, want 700 and 600", lines[:min(2, len(lines))])
				}
				out = lines[len(lines)-1]
				if strings.Contains(out, e2eSecret) || strings.Count(out, ".") != 4 {
					t.Fatalf("the file item is not a JWE compact token, or holds the secret in clear: %q", out)
				}
				payload, hdr, err := jose.Decode(out, "rolevault-fixture")
				if err != nil {
					t.Fatalf("decrypting the file item with the passphrase: %v", err)
				}
				if hdr["alg"] != "PBES2-HS256+A128KW" || hdr["enc"] != "A256GCM" {
					t.Errorf("JWE header %v, want PBES2-HS256+A128KW / A256GCM as keyring writes", hdr)
				}
				return parseItem(t, "dev", []byte(payload))
			},
			plantStep: func(e *Env) Step {
				return Cmd("cp", filepath.Join(fixtures, "legacy"), filepath.Join(fixtures, "with-source"), filepath.Join(e.Home, ".awsvault", "keys"))
			},
			planted: []string{"legacy\tAKIA************Y001", "with-source\tAKIA************E002"},
		},
		{
			name:  "keyctl",
			wrap:  []string{"keyctl", "session", "-"},
			tools: [][2]string{{"keyctl", "keyutils"}},
			setup: func(t *testing.T, e *Env) []Step {
				// The anonymous session keyring of `keyctl session -` isolates the
				// run; scope session makes rolevault use it.
				e.Set("AWS_VAULT_BACKEND", "keyctl", "AWS_VAULT_KEYCTL_SCOPE", "session")
				return nil
			},
			readStep: func(e *Env, p string) Step {
				return Cmd("sh", "-c", `id=$(keyctl search @s keyring aws-vault) && k=$(keyctl search "$id" user "$1") && keyctl pipe "$k"`, "sh", p)
			},
			parse: func(t *testing.T, e *Env, out string) storedCreds { return parseCreds(t, []byte(out)) },
			plantStep: func(e *Env) Step {
				s := Cmd("sh", "-c", `keyctl padd user legacy "$(keyctl search @s keyring aws-vault)"`)
				s.Stdin = legacyCreds // the keyctl backend keeps Data alone
				return s
			},
			planted: []string{"legacy\tAKIA************0001"},
		},
		{
			name:  "pass",
			tools: [][2]string{{"pass", "pass"}, {"gpg", "gnupg"}},
			setup: func(t *testing.T, e *Env) []Step {
				passInit(t, e)
				e.Set("AWS_VAULT_BACKEND", "pass")
				return nil
			},
			readStep: func(e *Env, p string) Step { return Cmd("pass", "show", p) },
			parse:    func(t *testing.T, e *Env, out string) storedCreds { return parseItem(t, "dev", []byte(out)) },
			plantStep: func(e *Env) Step {
				s := Cmd("pass", "insert", "-m", "legacy")
				s.Stdin = legacyItem("legacy", legacyCreds)
				return s
			},
			planted: []string{"legacy\tAKIA************0001"},
		},
		{
			name:  "secret-service",
			wrap:  []string{"dbus-run-session", "--"},
			tools: [][2]string{{"dbus-run-session", "dbus"}, {"gnome-keyring-daemon", "gnome-keyring"}, {"secret-tool", "libsecret-tools"}},
			setup: func(t *testing.T, e *Env) []Step {
				// No AWS_VAULT_BACKEND: inside a desktop-like session the default
				// order must pick secret-service by itself.
				return secretServiceSetup("awsvault")
			},
			readStep: func(e *Env, p string) Step { return Cmd("secret-tool", "lookup", "profile", p) },
			parse:    func(t *testing.T, e *Env, out string) storedCreds { return parseItem(t, "dev", []byte(out)) },
			plantStep: func(e *Env) Step {
				// What go-libsecret does for aws-vault: label and "profile" attribute = key.
				s := Cmd("secret-tool", "store", "--label=legacy", "--collection=/org/freedesktop/secrets/collection/awsvault", "profile", "legacy")
				s.Stdin = legacyItem("legacy", legacyCreds)
				return s
			},
			planted: []string{"legacy\tAKIA************0001"},
		},
	}
}

// secretServiceSetup starts gnome-keyring in the session (its login
// collection unlocked) and creates collection label without a GUI prompt.
func secretServiceSetup(label string) []Step {
	unlock := Cmd("sh", "-c", "gnome-keyring-daemon --unlock --components=secrets")
	unlock.Stdin = "e2e-login-password"
	return []Step{unlock, Cmd("helper", "create", label, collectionPassword)}
}

// passInit makes a throwaway GPG key with no passphrase and a pass store for it.
func passInit(t *testing.T, e *Env) {
	t.Helper()
	gnupg, err := os.MkdirTemp("", "rvgpg") // short: gpg-agent's socket path is limited
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(gnupg, 0o700)
	e.Set("GNUPGHOME", gnupg, "PASSWORD_STORE_DIR", filepath.Join(e.Home, ".password-store"))
	t.Cleanup(func() {
		e.Exec(t, "gpgconf", "--kill", "gpg-agent")
		os.RemoveAll(gnupg)
	})
	r := e.Exec(t, "gpg", "--batch", "--passphrase", "", "--quick-gen-key", "rolevault e2e <e2e@example.invalid>", "default", "default", "never")
	expect(t, r, 0)
	r = e.Exec(t, "gpg", "--list-secret-keys", "--with-colons")
	fpr := ""
	for _, line := range strings.Split(r.Stdout, "\n") {
		if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" {
			fpr = f[9]
			break
		}
	}
	if fpr == "" {
		t.Fatalf("no fingerprint in %s", r)
	}
	expect(t, e.Exec(t, "pass", "init", fpr), 0)
}

// TestBackends stores, reads (from outside, with the backend's own tool),
// lists and removes a key through the binary on every real backend, and reads
// an item planted from outside in aws-vault v7's layout.
func TestBackends(t *testing.T) {
	for _, bc := range backendCases() {
		t.Run(bc.name, func(t *testing.T) {
			skipIfE2EOff(t)
			for _, tool := range bc.tools {
				requireTool(t, tool[0], tool[1])
			}
			e := NewEnv(t)
			steps := bc.setup(t, e)
			n := len(steps)
			add := Cmd("rolevault", "add", "dev", "--env")
			add.Env = map[string]string{"AWS_ACCESS_KEY_ID": e2eKeyID, "AWS_SECRET_ACCESS_KEY": e2eSecret}
			steps = append(steps,
				add,                   // 0
				bc.readStep(e, "dev"), // 1
				Cmd("rolevault", "list", "--credentials"),            // 2
				Cmd("rolevault", "list", "--credentials", "--check"), // 3
				bc.plantStep(e), // 4
				Cmd("rolevault", "list", "--credentials", "--check"), // 5
				Cmd("rolevault", "remove", "-f", "dev"),              // 6
				bc.readStep(e, "dev"),                                // 7
				Cmd("rolevault", "remove", "-f", "dev"),              // 8
				Cmd("rolevault", "remove", "-f", "legacy"),           // 9
				Cmd("rolevault", "list", "--credentials"),            // 10
			)
			res := e.Script(t, bc.wrap, steps...)
			for i, r := range res[:n] {
				expect(t, r, 0)
				if t.Failed() {
					t.Fatalf("setup step %d failed", i)
				}
			}
			r := res[n:]
			expect(t, r[0], 0, `out:Added the access key for profile "dev" to the `+bc.name+" keyring")
			if strings.Contains(r[0].Stdout+r[0].Stderr, e2eSecret) {
				t.Errorf("add printed the secret: %s", r[0])
			}
			expect(t, r[1], 0)
			if r[1].Code == 0 {
				got := bc.parse(t, e, r[1].Stdout)
				if got.AccessKeyID != e2eKeyID || got.SecretAccessKey != e2eSecret || got.SessionToken != "" || got.CanExpire {
					t.Errorf("read from outside: %+v", got)
				}
			}
			if r[2].Stdout != "dev\n" {
				t.Errorf("list --credentials: %s", r[2])
			}
			expect(t, r[3], 0, "out:dev\tAKIA************MPLE\n")
			expect(t, r[4], 0)
			expect(t, r[5], 0, bc.planted...)
			expect(t, r[6], 0, `out:Deleted the access key of profile "dev"`)
			if r[7].Code == 0 {
				t.Errorf("the item is still there after remove: %s", r[7])
			}
			expect(t, r[8], 1, `err:no access key is stored for profile "dev"`)
			expect(t, r[9], 0)
			wantLeft := ""
			if bc.name == "file" {
				wantLeft = "with-source\n"
			}
			if r[10].Stdout != wantLeft {
				t.Errorf("left after removing: %s", r[10])
			}
		})
	}
}

// TestSecretServiceLocked locks the collection behind rolevault's back: names
// can still be listed, but reading or storing a key must say, in one line,
// that the collection is locked and needs unlocking — not hang on a prompt no
// one can see, and not fall back to another backend.
func TestSecretServiceLocked(t *testing.T) {
	for _, tool := range [][2]string{{"dbus-run-session", "dbus"}, {"gnome-keyring-daemon", "gnome-keyring"}} {
		requireTool(t, tool[0], tool[1])
	}
	e := NewEnv(t)
	add := func(p string) Step {
		s := Cmd("rolevault", "add", p, "--env")
		s.Env = map[string]string{"AWS_ACCESS_KEY_ID": e2eKeyID, "AWS_SECRET_ACCESS_KEY": e2eSecret}
		return s
	}
	steps := append(secretServiceSetup("awsvault"),
		add("dev"),                                              // 2
		Cmd("helper", "lock", "awsvault"),                       // 3
		Cmd("rolevault", "list", "--credentials"),               // 4
		Cmd("rolevault", "list", "--credentials", "--check"),    // 5
		add("other"),                                            // 6
		Cmd("helper", "unlock", "awsvault", collectionPassword), // 7
		Cmd("rolevault", "list", "--credentials", "--check"),    // 8
	)
	r := e.Script(t, []string{"dbus-run-session", "--"}, steps...)
	for i := 0; i < 4; i++ {
		expect(t, r[i], 0)
	}
	expect(t, r[4], 0, "out:dev\n")
	locked := `err:rolevault: reading the access key of profile "dev": the secret-service collection "awsvault" is locked: unlock it and run the command again`
	expect(t, r[5], 1, locked, "err:seahorse")
	expect(t, r[6], 1, `err:the secret-service collection "awsvault" is locked: unlock it`)
	expect(t, r[7], 0)
	expect(t, r[8], 0, "out:dev\tAKIA************MPLE\n")
}

// TestSecretServiceNeedsABus: asked for secret-service with no session bus,
// rolevault says what is missing instead of "backend not available".
func TestSecretServiceNeedsABus(t *testing.T) {
	skipIfE2EOff(t)
	if runtime.GOOS != "linux" {
		t.Skip("secret-service is Linux only")
	}
	r := NewEnv(t).Run(t, "--backend", "secret-service", "list")
	expect(t, r, 1, "err:keyring backend secret-service needs a D-Bus session bus", "err:apt install gnome-keyring")
}

// TestKeyctlUserScopeAcrossSessions: with the default scope (user), a key
// stored by one rolevault is read by the next even when each runs in its own
// session keyring (a new login, tmux, sudo -u), which the kernel's default
// possessor-only permissions would forbid. This touches the real user keyring
// under a unique name and removes what it stored.
func TestKeyctlUserScopeAcrossSessions(t *testing.T) {
	requireTool(t, "keyctl", "keyutils")
	e := NewEnv(t).Set("AWS_VAULT_BACKEND", "keyctl")
	profile := "rolevault-e2e-" + filepath.Base(e.Home)
	session := []string{"keyctl", "session", "-"}
	add := Cmd("rolevault", "add", profile, "--env", "--no-add-config")
	add.Env = map[string]string{"AWS_ACCESS_KEY_ID": e2eKeyID, "AWS_SECRET_ACCESS_KEY": e2eSecret}
	had := e.Script(t, session, Cmd("keyctl", "search", "@u", "keyring", "aws-vault"))[0].Code == 0
	t.Cleanup(func() {
		steps := []Step{Cmd("rolevault", "remove", "-f", profile)}
		if !had { // leave the user keyring as we found it
			steps = append(steps, Cmd("sh", "-c", `id=$(keyctl search @u keyring aws-vault) && [ -z "$(keyctl rlist "$id")" ] && keyctl unlink "$id" @u`))
		}
		e.Script(t, session, steps...)
	})
	r := e.Script(t, session, add)
	expect(t, r[0], 0, "out:to the keyctl keyring")

	r = e.Script(t, session, Cmd("rolevault", "list", "--credentials", "--check"))
	expect(t, r[0], 0, "out:"+profile+"\tAKIA************MPLE\n")
	// Outside any session of ours, the kernel's own tool finds it in @u.
	r = e.Script(t, session, Cmd("sh", "-c", `keyctl pipe "$(keyctl search @u user "$1")"`, "sh", profile))
	expect(t, r[0], 0, "out:"+e2eSecret)
	r = e.Script(t, session, Cmd("rolevault", "remove", "-f", profile))
	expect(t, r[0], 0)
	r = e.Script(t, session, Cmd("keyctl", "search", "@u", "user", profile))
	if r[0].Code == 0 {
		t.Errorf("the key is still in the user keyring: %s", r[0])
	}
}

// TestAddAndRemoveOnATerminal drives the prompts as a person would: the key
// ID is visible as typed, the secret is not echoed, prompts go to the
// terminal (not to stdout, which a script may read), and remove asks first.
func TestAddAndRemoveOnATerminal(t *testing.T) {
	e := NewEnv(t).Set("AWS_VAULT_BACKEND", "file", "AWS_VAULT_FILE_PASSPHRASE", "pw")
	out := filepath.Join(e.Home, "add.out")
	tm := StartTerminal(t, e, "sh", "-c", `"$0" add dev >"$1"; exit $?`, binary, out)
	tm.WaitFor("Enter Access Key ID:") // capture-pane drops trailing spaces
	tm.Type(e2eKeyID)
	tm.WaitFor("Enter Secret Access Key:")
	tm.Type(e2eSecret)
	tm.WaitFor("Enter MFA Device ARN") // dev is not in the config: add asks, as aws-vault does
	tm.Type("")
	screen := tm.WaitFor("EXIT=")
	if !strings.Contains(screen, "EXIT=0") || !strings.Contains(screen, e2eKeyID) {
		t.Errorf("add on a terminal failed, or the key ID was not echoed:\n%s", screen)
	}
	if strings.Contains(screen, e2eSecret) || strings.Contains(screen, e2eSecret[:10]) {
		t.Errorf("the secret was echoed:\n%s", screen)
	}
	stdout, _ := os.ReadFile(out)
	if strings.Contains(string(stdout), "Enter") || !strings.Contains(string(stdout), `Added the access key for profile "dev"`) {
		t.Errorf("stdout holds prompts or lacks the result: %q", stdout)
	}
	expect(t, e.Run(t, "list", "--credentials", "--check"), 0, "out:dev\tAKIA************MPLE\n")

	tm = StartTerminal(t, e, "rolevault", "remove", "dev")
	tm.WaitFor(`Delete the access key of profile "dev" and its cached sessions? [y/N]`)
	tm.Type("n")
	tm.WaitFor("EXIT=0")
	expect(t, e.Run(t, "list", "--credentials"), 0, "out:dev\n")

	tm = StartTerminal(t, e, "rolevault", "rm", "dev")
	tm.WaitFor("[y/N]")
	tm.Type("y")
	tm.WaitFor("EXIT=0")
	if r := e.Run(t, "list", "--credentials"); r.Stdout != "" {
		t.Errorf("the key survived 'y': %s", r)
	}
}
