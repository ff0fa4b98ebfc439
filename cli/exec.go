package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/plan"
	"github.com/rolevault/rolevault/server"
)

// ExecCmd runs a command with a profile's credentials.
type ExecCmd struct {
	sessionFlags

	JSON       bool `short:"j" help:"Print the credentials as a credential_process JSON document instead of running a command (same as 'export --format=json')."`
	ECSServer  bool `name:"ecs-server" aliases:"server" short:"s" help:"Serve credentials to the command from a local ECS credential server, refreshed as they expire (for long-running jobs)."`
	EC2Server  bool `name:"ec2-server" help:"Serve credentials to the command from a local EC2 instance-metadata server (IMDSv2 and v1) on 127.0.0.1."`
	Lazy       bool `help:"With a server, fetch credentials on the first request instead of before the command starts."`
	Stdout     bool `env:"AWS_VAULT_STDOUT" help:"Sign in to IAM Identity Center with a code printed on the terminal instead of opening a browser tab (the device flow)."`
	ProfileEnv bool `name:"profile-env" env:"AWS_VAULT_PROFILE_ENV" help:"Set AWS_PROFILE for the command instead of AWS_ACCESS_KEY_ID and friends (the credentials are still checked first); the command's SDK then resolves the profile itself."`

	// Optional: AWS_PROFILE names it when it is left out, as in aws-vault.
	Profile string `arg:"" optional:"" help:"Name of the profile (from ~/.aws/config). Default: $AWS_PROFILE." predictor:"profile"`
	// Partial passthrough: a mistyped flag between the profile and the
	// command is a usage error, not the command; from the first word that
	// is not a flag (or from '--') everything belongs to the command.
	Command []string `arg:"" optional:"" passthrough:"partial" help:"Command and its arguments, after '--'. Default: $SHELL."`
}

// Help is shown under 'rolevault exec --help'.
func (c *ExecCmd) Help() string {
	return `Examples:
  rolevault exec prod -- aws sts get-caller-identity
  rolevault exec dev                      # a shell with dev's credentials
  rolevault exec prod --ecs-server -- terraform apply   # refreshed for long jobs`
}

// Run fetches the credentials and starts the command.
func (c *ExecCmd) Run(g *Globals) error {
	if err := refuseNesting(); err != nil {
		return err
	}
	if c.ECSServer && c.EC2Server {
		return &hintedError{msg: "--ecs-server and --ec2-server cannot be used together", hint: "Pick one: --ecs-server suits current SDKs; --ec2-server suits tools that only know instance metadata."}
	}
	if c.JSON && (c.ECSServer || c.EC2Server) {
		return &hintedError{msg: "--json cannot be used with a credential server", hint: "Drop --json, or use 'rolevault export --format=json'."}
	}
	profile, err := profileOrEnv(c.Profile, "exec", "rolevault exec PROFILE -- COMMAND [ARGS]")
	if err != nil {
		return err
	}
	c.Profile = profile
	// The command is found before anything is asked or fetched: a typo
	// must not cost a passphrase, an MFA code or an STS call.
	var command, path string
	var args []string
	if !c.JSON {
		command, args = c.command()
		if path, err = lookCommand(command); err != nil {
			return err
		}
	}
	g.ssoNoBrowser = c.Stdout
	setup, err := g.setupCredentials(c.Profile, c.sessionFlags, plan.Options{})
	if err != nil {
		return err
	}
	ctx, stop := interruptContext()
	defer stop()

	if c.JSON {
		creds, err := setup.retrieve(ctx)
		if err != nil {
			return err
		}
		return writeExport(g.streams.Out, "json", childEnv{Profile: c.Profile}, creds)
	}

	env := childEnv{Profile: c.Profile, Region: setup.region(), EndpointURL: setup.profile.EndpointURL}
	if c.ECSServer || c.EC2Server {
		return c.runWithServer(ctx, stop, g, setup, env, path, command, args)
	}

	creds, err := setup.retrieve(ctx)
	if err != nil {
		return err
	}
	stop()
	set := env.vars(creds)
	if c.ProfileEnv {
		// As aws-vault: the credentials were checked above (so a failure
		// shows here, not as a puzzling error in the child); the child
		// gets the profile's name, and no keys.
		set = append(env.shell(), [2]string{"AWS_PROFILE", c.Profile})
	}
	environ := buildEnviron(os.Environ(), set, childUnsetVars())
	return runChild(g, path, command, args, environ, true)
}

// profileOrEnv is the profile named on the command line, else $AWS_PROFILE
// (as aws-vault's exec and login take it), else a usage error.
func profileOrEnv(profile, cmd, usage string) (string, error) {
	if profile != "" {
		return profile, nil
	}
	if v, _ := lookupEnv("AWS_PROFILE"); v != "" {
		return v, nil
	}
	return "", &codedError{msg: cmd + " needs a profile, and AWS_PROFILE is not set", hint: "Usage: " + usage, code: ExitUsage}
}

// lookCommand resolves command on the PATH the child will get (rolevault
// passes its own PATH on unchanged), as a shell would before running it.
func lookCommand(command string) (string, error) {
	path, err := exec.LookPath(command)
	if err == nil {
		return path, nil
	}
	// A path that names nothing is "not found" too (127), as in a shell.
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return "", &codedError{msg: fmt.Sprintf("command not found: %s", command),
			hint: "Check the command name and your PATH; nothing was fetched and no MFA code was used.",
			code: ExitNotFound, err: err}
	}
	return "", &codedError{msg: fmt.Sprintf("cannot run %s: %v", command, errors.Unwrap(err)),
		hint: "Check that the file exists and is executable; nothing was fetched and no MFA code was used.",
		code: ExitNotExecutable, err: err}
}

// command is what to run: the arguments, or the user's shell.
func (c *ExecCmd) command() (string, []string) {
	cmd := c.Command
	if len(cmd) > 0 && cmd[0] == "--" {
		cmd = cmd[1:] // kong's passthrough keeps the separator
	}
	if len(cmd) > 0 {
		return cmd[0], cmd[1:]
	}
	if sh := os.Getenv("SHELL"); sh != "" {
		return sh, nil
	}
	if runtime.GOOS == "windows" {
		if cs := os.Getenv("COMSPEC"); cs != "" {
			return cs, nil
		}
		return "cmd.exe", nil
	}
	return "/bin/sh", nil
}

// runWithServer starts a credential server and the command as a child that
// reads from it; the server stops when the child exits.
func (c *ExecCmd) runWithServer(ctx context.Context, stopSignals context.CancelFunc, g *Globals, setup *credentialSetup, env childEnv, path, command string, args []string) error {
	credsFunc := func(ctx context.Context) (aws.Credentials, error) { return setup.retrieve(ctx) }
	logf := func(format string, a ...any) { g.debugf("server: "+format, a...) }
	minTTL := setup.plan.MinTTL
	if minTTL == 0 {
		minTTL = config.DefaultMinTTL
	}
	srvCtx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var serverEnv []string
	var closeServer func() error
	if c.ECSServer {
		s, err := server.StartECS(srvCtx, credsFunc, server.ECSOptions{Lazy: c.Lazy, MinTTL: minTTL, Logf: logf})
		if err != nil {
			return serverStartError(err)
		}
		serverEnv, closeServer = s.Env(), s.Close
	} else {
		// The fixed address is where `rolevault proxy` looks; when another
		// server holds it, this one still works through the endpoint
		// variable, just not behind the proxy.
		opts := server.EC2Options{Addr: server.EC2ProxyTarget, Lazy: c.Lazy, MinTTL: minTTL, Region: env.Region, Logf: logf}
		s, err := server.StartEC2(srvCtx, credsFunc, opts)
		if err != nil && !errors.Is(err, server.ErrRefresh) {
			g.debugf("EC2 server on %s: %v; using a random port ('rolevault proxy' cannot reach it)", server.EC2ProxyTarget, err)
			opts.Addr = ""
			s, err = server.StartEC2(srvCtx, credsFunc, opts)
		}
		if err != nil {
			return serverStartError(err)
		}
		serverEnv, closeServer = s.Env(), s.Close
	}
	defer closeServer()
	g.warnIfRefreshNeedsTerminal(setup)
	stopSignals()

	// The child gets the server's address instead of keys: no key variables.
	set := env.shell()
	for _, kv := range serverEnv {
		k, v, _ := strings.Cut(kv, "=")
		set = append(set, [2]string{k, v})
	}
	environ := buildEnviron(os.Environ(), set, childUnsetVars())
	return runChild(g, path, command, args, environ, false)
}

func serverStartError(err error) error {
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return err
	}
	return fmt.Errorf("starting the credential server: %w", err)
}

// warnIfRefreshNeedsTerminal says, at start, how long a server can run before
// it needs a new MFA code, when the only way to ask would be the terminal the
// child is using. That is the time the MFA session it will refresh from has
// left: the cached one when it is still usable (after a non-lazy start, the
// one just used), else the length of the one that will be fetched.
func (g *Globals) warnIfRefreshNeedsTerminal(setup *credentialSetup) {
	var mfaStep *plan.Step
	for i := range setup.plan.Steps {
		if setup.plan.Steps[i].MFASerial != "" {
			mfaStep = &setup.plan.Steps[i]
		}
	}
	if mfaStep == nil || mfaStep.MFAProcess != "" || g.Prompt != "" && g.Prompt != "terminal" {
		return
	}
	d := mfaStep.Duration
	if d == 0 {
		d = time.Hour
	}
	what := fmt.Sprintf("a new %s MFA session", plan.FormatDuration(d))
	if c := setup.provider.Cache; c != nil && mfaStep.CacheKey != "" {
		// The non-secret index: no keyring read for a message.
		if exp, ok, _ := c.Expiry(mfaStep.CacheKey); ok {
			minTTL := setup.plan.MinTTL
			if minTTL == 0 {
				minTTL = config.DefaultMinTTL
			}
			if left := time.Until(exp); left > minTTL {
				d = left.Truncate(time.Minute)
				what = "the cached MFA session"
			}
		}
	}
	fmt.Fprintf(g.streams.Err, "rolevault: the server can refresh credentials for about %s without a new MFA code (%s); for longer jobs set mfa_process in the profile or --prompt=zenity|kdialog|osascript|ykman, or ask for a longer MFA session with %s\n",
		plan.FormatDuration(d), what, sessionLengthVar(setup.plan, mfaStep))
}

// sessionLengthVar names what sets the length of the MFA step s of plan, and
// the most AWS grants.
func sessionLengthVar(pl *plan.Plan, s *plan.Step) string {
	switch {
	case s.Kind != plan.StepGetSessionToken:
		return "--duration or AWS_ASSUME_ROLE_TTL (up to 12h, if the role allows it)"
	case pl.Steps[len(pl.Steps)-1].Kind != plan.StepGetSessionToken:
		return "AWS_CHAINED_SESSION_TOKEN_TTL (up to 36h)"
	default:
		return "--duration or AWS_SESSION_TOKEN_TTL (up to 36h)"
	}
}

// runChild runs command with environ. With replace on Unix, rolevault execs
// it in place (exit codes and signals are then the child's own). Otherwise it
// starts a child, forwards signals and returns its exit status.
func runChild(g *Globals, path, command string, args, environ []string, replace bool) error {
	if replace && canExecInPlace {
		g.debugf("exec %s", path)
		err := syscall.Exec(path, append([]string{command}, args...), environ)
		return fmt.Errorf("executing %s: %w", path, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.Env = os.Stdin, os.Stdout, os.Stderr, environ
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwardedSignals...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return &hintedError{msg: fmt.Sprintf("starting %s: %v", command, err), hint: "Check the command and its permissions.", err: err}
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &ExitCodeError{Code: exitStatus(ee)}
	}
	return fmt.Errorf("waiting for %s: %w", command, err)
}

// refuseNesting stops exec and export inside a shell that exec started, as
// aws-vault does: the child's keys would silently become the source of the
// new session.
func refuseNesting() error {
	if v, ok := lookupEnv("AWS_VAULT"); ok && v != "" {
		return &hintedError{
			msg:  fmt.Sprintf("already in a session for profile %q (AWS_VAULT is set); nesting sessions mixes credentials", v),
			hint: "Exit that shell first, or 'unset AWS_VAULT' to force.",
		}
	}
	return nil
}
