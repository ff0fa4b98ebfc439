package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"github.com/alecthomas/kong"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/prompt"
)

// CLI is the whole command line: the global flags and one field per command.
type CLI struct {
	Globals

	Version kong.VersionFlag `help:"Show the version and exit."`

	Add     AddCmd     `cmd:"" help:"Add an access key to the keychain."`
	Remove  RemoveCmd  `cmd:"" aliases:"rm" help:"Remove an access key and its cached sessions from the keychain."`
	List    ListCmd    `cmd:"" aliases:"ls" help:"List profiles, stored access keys and cached sessions."`
	Explain ExplainCmd `cmd:"" help:"Show the chain of STS calls a profile needs, without calling AWS or reading secrets."`
	Policy  PolicyCmd  `cmd:"" help:"Print the IAM trust and identity policies a profile's chain needs, as JSON or Terraform."`
	Doctor  DoctorCmd  `cmd:"" help:"Check a profile's chain live, step by step, and say what to fix."`
	Exec    ExecCmd    `cmd:"" help:"Run a command with a profile's AWS credentials in its environment."`
	Export  ExportCmd  `cmd:"" help:"Print a profile's AWS credentials (env, export-env, json for credential_process, ini)."`
	Clear   ClearCmd   `cmd:"" help:"Remove cached sessions and IAM Identity Center sign-ins from the keychain."`
	SSO     SSOCmd     `cmd:"" name:"sso" help:"Sign in to or out of IAM Identity Center, and generate profiles for its accounts and roles."`
	Login   LoginCmd   `cmd:"" help:"Open the AWS console signed in with a profile's credentials."`
	Rotate  RotateCmd  `cmd:"" help:"Rotate a profile's access key: create a new one, store it, delete the old one."`
	Proxy   ProxyCmd   `cmd:"" help:"Forward the EC2 metadata address to exec --ec2-server (run with sudo)."`
	Agent   AgentCmd   `cmd:"" help:"Run an agent that unlocks the keyring once and serves it from memory (start, status, lock, stop)."`

	Completion CompletionCmd `cmd:"" help:"Print a script that completes commands, flags and profile names in bash, zsh or fish."`
}

// Streams are the process's standard streams; tests pass their own.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// DefaultStreams returns the process's real stdin, stdout and stderr.
func DefaultStreams() Streams {
	return Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
}

// Exit codes, documented in docs/exit-codes.md.
const (
	ExitOK    = 0
	ExitError = 1 // the command failed; the message says why
	ExitUsage = 2 // the command line itself is wrong

	// exec's command could not be run, as shells number these.
	ExitNotExecutable = 126 // found, but not executable
	ExitNotFound      = 127 // not on PATH
)

// codedError is a one-line error with a hint and its own exit code.
type codedError struct {
	msg, hint string
	code      int
	err       error
}

func (e *codedError) Error() string { return e.msg }
func (e *codedError) Hint() string  { return e.hint }
func (e *codedError) Unwrap() error { return e.err }

// ExitCodeError carries an exit status that is not an error message, such as a
// child process's status passed through by exec.
type ExitCodeError struct{ Code int }

func (e *ExitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Main parses args, runs the chosen command and returns the process exit code.
func Main(args []string, version string, s Streams) int {
	if code, done := mainOneCommand(args, version, s); done {
		return code
	}
	return mainFull(args, version, s)
}

// mainFull is Main with kong's model of every command.
func mainFull(args []string, version string, s Streams) int {
	var c CLI
	c.Globals.streams = s
	exitCode := -1
	parser, err := newParser(&c, &c.Globals, version, s, &exitCode)
	if err != nil {
		fmt.Fprintf(s.Err, "rolevault: internal error building the command line: %v\n", err)
		return ExitError
	}
	if code, done := completeIfAsked(parser, s); done {
		return code
	}
	args = helpCommand(args)
	args = execProfileFromEnv(parser.Model, args)
	ctx, code, done := parse(parser, args, &exitCode)
	if done {
		return code
	}
	if err := ctx.Run(&c.Globals); err != nil {
		return c.Globals.report(err)
	}
	return ExitOK
}

// newParser builds kong's model of root, a *CLI or a one-command root from
// oneCommandRoot, whose Globals is g.
func newParser(root any, g *Globals, version string, s Streams, exitCode *int) (*kong.Kong, error) {
	return kong.New(root,
		kong.Name("rolevault"),
		kong.Description("Keep AWS access keys in your keychain and use short-lived, MFA-backed role credentials.\n\nrolevault reads profiles from ~/.aws/config (or $AWS_CONFIG_FILE). Start with 'rolevault add <profile>' and 'rolevault explain <profile>'."),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Vars{"version": "rolevault " + version},
		kong.Writers(s.Out, s.Err),
		kong.Exit(func(code int) { *exitCode = code; panic(exitSignal{}) }),
		kong.Bind(g),
	)
}

// mainOneCommand is Main's fast path. kong builds its model by reflection
// over every command's struct tags and interpolates every help text; for
// `export --format=json` served from the cache that was the largest single
// cost after the keyring's own decryption (measured: ~2 ms of CPU in process,
// more in a new one; docs/performance.md). When the command line names its
// command, kong first gets a model of the global flags and that one command
// only. The fast path is taken only when it cannot differ from the full one:
//   - anything that prints help or completes (-h, --help, help, COMP_LINE)
//     goes to the full model, which lists every command;
//   - a parse that fails is thrown away unprinted and the command line is
//     parsed again with the full model, which prints its error; kong reads
//     and applies nothing before it has parsed the whole line, so the
//     failed try leaves no trace;
//   - a parse that succeeds selected the same command with the same flags
//     as the full model would (the full model has more commands, never
//     other flags on this path); kong finds Globals.Validate and any other
//     hook of Globals through the embed tag, as it does through CLI's
//     embedding, and CLI itself has no hooks to lose
//     (TestOneCommandRootHasNoOtherHooks keeps it that way).
//
// done is false when Main must go on with the full model.
func mainOneCommand(args []string, version string, s Streams) (code int, done bool) {
	if _, ok := os.LookupEnv("COMP_LINE"); ok {
		return 0, false
	}
	field, ok := namedCommand(args)
	if !ok {
		return 0, false
	}
	root := reflect.New(oneCommandRoot(field))
	g := root.Elem().Field(0).Addr().Interface().(*Globals)
	g.streams = s
	exitCode := -1
	parser, err := newParser(root.Interface(), g, version, s, &exitCode)
	if err != nil {
		return 0, false
	}
	args = execProfileFromEnv(parser.Model, args)
	ctx, exited, err := tryParse(parser, args, &exitCode)
	if exited {
		return exitCode, true // --version: printed, as the full model would
	}
	if err != nil {
		return 0, false
	}
	if err := ctx.Run(g); err != nil {
		return g.report(err), true
	}
	return ExitOK, true
}

// tryParse is parse without printing: exited reports a kong exit (--version).
func tryParse(p *kong.Kong, args []string, exitCode *int) (ctx *kong.Context, exited bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(exitSignal); !ok {
				panic(r)
			}
			ctx, exited, err = nil, true, nil
		}
	}()
	ctx, err = p.Parse(args)
	return ctx, false, err
}

// namedCommand finds the CLI field of the command args name: the first word
// that is not a global flag or its value. ok is false when there is none, or
// when args ask for help.
func namedCommand(args []string) (field reflect.StructField, ok bool) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--help" || strings.HasPrefix(a, "--help=") || (len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.ContainsRune(a, 'h')) {
			return field, false
		}
	}
	cli := reflect.TypeFor[CLI]()
	valueFlags := globalValueFlags()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "help" {
			return field, false
		}
		if strings.HasPrefix(a, "--") && len(a) > 2 {
			if !strings.Contains(a, "=") && valueFlags[a[2:]] {
				i++ // its value
			}
			continue
		}
		if strings.HasPrefix(a, "-") {
			return field, false // a short flag or "--" before any command
		}
		for j := 0; j < cli.NumField(); j++ {
			f := cli.Field(j)
			if _, isCmd := f.Tag.Lookup("cmd"); isCmd && slices.Contains(commandNames(f), a) {
				return f, true
			}
		}
		return field, false
	}
	return field, false
}

// commandNames are the words that select CLI field f: its name as kong
// derives it (or its name tag) and its aliases.
func commandNames(f reflect.StructField) []string {
	name := f.Tag.Get("name")
	if name == "" {
		name = kebab(f.Name)
	}
	names := []string{name}
	if a := f.Tag.Get("aliases"); a != "" {
		names = append(names, strings.Split(a, ",")...)
	}
	return names
}

// kebab is kong's default name for a field: "SecretServiceCollection" →
// "secret-service-collection".
func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && unicode.IsUpper(r) && !unicode.IsUpper(rune(s[i-1])) {
			b.WriteByte('-')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// globalValueFlags are the global flags (Globals' fields) that take a value.
func globalValueFlags() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[Globals]()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || f.Type.Kind() == reflect.Bool {
			continue
		}
		name := f.Tag.Get("name")
		if name == "" {
			name = kebab(f.Name)
		}
		m[name] = true
	}
	return m
}

// oneCommandRoot is CLI's type with cmd as its only command: the same
// global flags (Globals, as its first field, tagged embed so kong flattens
// it exactly as it does the embedded one) and the same --version.
func oneCommandRoot(cmd reflect.StructField) reflect.Type {
	cli := reflect.TypeFor[CLI]()
	var fields []reflect.StructField
	for i := 0; i < cli.NumField(); i++ {
		f := cli.Field(i)
		if _, isCmd := f.Tag.Lookup("cmd"); isCmd && f.Name != cmd.Name {
			continue
		}
		if f.Anonymous {
			// reflect.StructOf promotes no methods, but kong looks for
			// Globals' hooks (Validate) in embed-tagged fields too.
			f.Anonymous = false
			f.Tag = reflect.StructTag(strings.TrimSpace(string(f.Tag) + ` embed:""`))
		}
		f.Index = nil
		f.Offset = 0
		fields = append(fields, f)
	}
	return reflect.StructOf(fields)
}

// helpCommand turns aws-vault's `help [COMMAND]` into `[COMMAND] --help`.
// Only a first word "help" counts: no command takes it as a profile there.
func helpCommand(args []string) []string {
	if len(args) == 0 || args[0] != "help" {
		return args
	}
	return append(append([]string{}, args[1:]...), "--help")
}

// commandGroup names the command group (agent, sso) a failed parse stopped
// in without reaching one of its commands, "" otherwise: its own help lists
// the commands that were meant.
func commandGroup(pe *kong.ParseError) string {
	if pe == nil || pe.Context == nil || pe.Context.Selected() == nil || len(pe.Context.Selected().Children) == 0 {
		return ""
	}
	var words []string
	for _, p := range pe.Context.Path {
		if p.Command != nil {
			words = append(words, p.Command.Name)
		}
	}
	return strings.Join(words, " ")
}

type exitSignal struct{}

// parse runs kong's parser, turning its --help/--version exits and parse errors
// into exit codes instead of os.Exit calls.
func parse(p *kong.Kong, args []string, exitCode *int) (ctx *kong.Context, code int, done bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(exitSignal); !ok {
				panic(r)
			}
			ctx, code, done = nil, *exitCode, true
		}
	}()
	ctx, err := p.Parse(args)
	if err != nil {
		var pe *kong.ParseError
		msg := err.Error()
		if errors.As(err, &pe) {
			msg = pe.Error()
		}
		hint := "Run 'rolevault --help' for usage."
		if group := commandGroup(pe); group != "" {
			hint = "Run 'rolevault " + group + " --help' for its commands."
		}
		if pe != nil && pe.Context != nil && pe.Context.Selected() != nil && pe.Context.Selected().Name == "exec" &&
			strings.HasPrefix(msg, "unknown flag") {
			hint = "Put the command after --: rolevault exec PROFILE [flags] -- COMMAND [ARGS]"
		}
		fmt.Fprintf(p.Stderr, "rolevault: %s\n  %s\n", msg, hint)
		return nil, ExitUsage, true
	}
	return ctx, 0, false
}

// report prints a command's error as "rolevault: <what>" plus, when the error
// carries one, a second line saying what to do, and returns the exit code.
func (g *Globals) report(err error) int {
	var ec *ExitCodeError
	if errors.As(err, &ec) {
		return ec.Code
	}
	// Ctrl-C or a signal at a prompt: one line naming what was asked for,
	// whatever wrapped it, and the status a shell expects (130 for Ctrl-C).
	var ie *prompt.InterruptedError
	if errors.As(err, &ie) {
		fmt.Fprintf(g.streams.Err, "rolevault: %s\n", ie.Error())
		return ie.ExitCode()
	}
	// Ctrl-C or SIGTERM while waiting for AWS or for another process: one
	// line naming the wait, never a bare "context canceled".
	var we *keychain.InterruptedError
	if errors.As(err, &we) || errors.Is(err, context.Canceled) {
		msg := "interrupted"
		if we != nil {
			msg = we.Error()
		}
		fmt.Fprintf(g.streams.Err, "rolevault: %s\n", msg)
		var se *signalError
		if errors.As(err, &se) {
			return se.exitCode()
		}
		return 130
	}
	msg := strings.TrimSpace(err.Error())
	fmt.Fprintf(g.streams.Err, "rolevault: %s\n", msg)
	var h interface{ Hint() string }
	if errors.As(err, &h) && h.Hint() != "" {
		fmt.Fprintf(g.streams.Err, "  %s\n", h.Hint())
	}
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	return ExitError
}

// execProfileFromEnv handles `AWS_PROFILE=prod rolevault exec [flags] -- cmd`:
// with no profile before "--", the parser would take the command's name as
// the profile, so the profile from AWS_PROFILE is put in front of "--". Any
// other command line is returned as it is.
func execProfileFromEnv(app *kong.Application, args []string) []string {
	// Without AWS_PROFILE an empty profile goes in, which exec reports as
	// missing (rather than taking the command's name for a profile).
	profile, _ := lookupEnv("AWS_PROFILE")
	flags := map[string]*kong.Flag{}
	addFlags := func(n *kong.Node) {
		for _, f := range n.Flags {
			flags["--"+f.Name] = f
			for _, a := range f.Aliases {
				flags["--"+a] = f
			}
			if f.Short != 0 {
				flags["-"+string(f.Short)] = f
			}
		}
	}
	addFlags(app.Node)
	inExec := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if !inExec {
				return args
			}
			out := append(append(append([]string(nil), args[:i]...), profile), args[i:]...)
			return out
		case strings.HasPrefix(a, "-") && len(a) > 1:
			if strings.HasPrefix(a, "--") {
				name, _, hasValue := strings.Cut(a, "=")
				if f := flags[name]; f != nil && takesValue(f) && !hasValue {
					i++ // its value
				}
				continue
			}
			// A cluster of short flags (-nd 2h, -d2h): the first one that
			// takes a value takes the rest of the cluster or the next word.
			for j := 1; j < len(a); j++ {
				if f := flags["-"+a[j:j+1]]; f != nil && takesValue(f) {
					if j == len(a)-1 {
						i++
					}
					break
				}
			}
		case inExec:
			return args // the profile is named
		default:
			if cmd := findCommand(app.Node, a); cmd != nil && cmd.Name == "exec" {
				inExec = true
				addFlags(cmd)
				continue
			}
			return args
		}
	}
	return args
}

func takesValue(f *kong.Flag) bool { return !f.IsBool() && !f.IsCounter() }

func findCommand(n *kong.Node, name string) *kong.Node {
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
		for _, a := range c.Aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}
