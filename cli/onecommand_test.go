package cli

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// The methods kong looks for on the root of the command line.
var kongRootHooks = []string{"BeforeReset", "BeforeResolve", "BeforeApply", "AfterApply", "AfterRun", "Validate", "Help"}

// TestOneCommandRootHasNoOtherHooks: the one-command root (a reflect.StructOf
// type, which promotes no methods and has none) stands in for *CLI only while
// every hook kong would find on *CLI is one of Globals', which kong still
// finds through the root's embed-tagged Globals field. A hook defined on CLI
// itself would be lost on the one-command path.
func TestOneCommandRootHasNoOtherHooks(t *testing.T) {
	cli, globals := reflect.PointerTo(reflect.TypeFor[CLI]()), reflect.PointerTo(reflect.TypeFor[Globals]())
	for _, name := range kongRootHooks {
		_, onCLI := cli.MethodByName(name)
		_, onGlobals := globals.MethodByName(name)
		if onCLI && !onGlobals {
			t.Errorf("*CLI has hook %s of its own; the one-command root would not call it", name)
		}
	}
}

// TestNamedCommandFindsEveryCommand: each word the full model takes as a
// command (its name and every alias) selects that command's field.
func TestNamedCommandFindsEveryCommand(t *testing.T) {
	var c CLI
	p, err := kong.New(&c, kong.Name("rolevault"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range p.Model.Children {
		for _, word := range append([]string{n.Name}, n.Aliases...) {
			f, ok := namedCommand([]string{"--debug", "--backend", "file", word, "x"})
			if !ok || !slices.Contains(commandNames(f), n.Name) {
				t.Errorf("%q: namedCommand found %v (%v), want the field of command %s", word, f.Name, ok, n.Name)
			}
		}
	}
	for _, args := range [][]string{{}, {"--version"}, {"help", "exec"}, {"exec", "-h"}, {"export", "--help", "p"}, {"nosuch"}, {"-d", "export"}, {"--", "export"}} {
		if f, ok := namedCommand(args); ok {
			t.Errorf("%q: took the one-command path (%s); want the full model", args, f.Name)
		}
	}
}

// TestOneCommandMatchesFullModel runs command lines through Main (which takes
// the one-command path for them) and through mainFull, and wants the same
// exit code, stdout and stderr: successes, kong's parse errors, Validate's,
// --version, aliases, flags before and after the command, AWS_PROFILE for
// exec.
func TestOneCommandMatchesFullModel(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte(explainConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfg)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("ROLEVAULT_CACHE_DIR", filepath.Join(dir, "cache"))
	t.Setenv("AWS_VAULT_BACKEND", "file")
	t.Setenv("AWS_VAULT_FILE_DIR", filepath.Join(dir, "keys"))
	t.Setenv("AWS_VAULT_FILE_PASSPHRASE", "x")
	t.Setenv("AWS_PROFILE", "dev")
	for _, v := range []string{"AWS_VAULT", "AWS_VAULT_PROMPT", "AWS_VAULT_DURATION", "COMP_LINE"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	for _, args := range [][]string{
		{"explain", "prod"},
		{"--debug", "explain", "prod", "--duration", "2h"},
		{"explain", "--format", "json", "dev"},
		{"ls", "--profiles"},
		{"list", "--bogus"},
		{"export", "--format=json", "prod"},
		{"export", "--format=yaml", "prod"},
		{"export"},
		{"export", "--version", "prod"},
		{"--prompt=bogus", "export", "prod"},
		{"--backend", "nosuch", "export", "prod"},
		{"exec", "--", "true"},
		{"exec", "prod", "--nosuch", "--", "true"},
		{"policy", "prod"},
		{"completion", "bash"},
		{"rm", "nosuch", "--force"},
		{"explain", "nosuch"},
	} {
		if _, ok := namedCommand(args); !ok {
			t.Errorf("%q: not on the one-command path", args)
			continue
		}
		var fastOut, fastErr, fullOut, fullErr bytes.Buffer
		fast := Main(args, "test", Streams{In: strings.NewReader(""), Out: &fastOut, Err: &fastErr})
		full := mainFull(args, "test", Streams{In: strings.NewReader(""), Out: &fullOut, Err: &fullErr})
		if fast != full || fastOut.String() != fullOut.String() || fastErr.String() != fullErr.String() {
			t.Errorf("%q:\none command: exit %d\n%s%s\nfull model: exit %d\n%s%s", args, fast, fastOut.String(), fastErr.String(), full, fullOut.String(), fullErr.String())
		}
	}
}

// BenchmarkParseExport is kong's part of a warm `export`: the one-command
// model against the full one (in process; a new process pays more).
func BenchmarkParseExport(b *testing.B) {
	for _, tc := range []struct {
		name string
		root func() (any, *Globals)
	}{
		{"one-command", func() (any, *Globals) {
			f, _ := namedCommand([]string{"export"})
			v := reflect.New(oneCommandRoot(f))
			return v.Interface(), v.Elem().Field(0).Addr().Interface().(*Globals)
		}},
		{"full", func() (any, *Globals) { c := &CLI{}; return c, &c.Globals }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				root, g := tc.root()
				code := -1
				p, err := newParser(root, g, "x", Streams{Out: io.Discard, Err: io.Discard}, &code)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.Parse([]string{"export", "--format=json", "prod"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
