package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/99designs/keyring"
	"github.com/rolevault/rolevault/agent"
	"github.com/rolevault/rolevault/keychain"
)

// AgentCmd is `rolevault agent`: ssh-agent's commands for rolevault's keyring.
type AgentCmd struct {
	Start  AgentStartCmd  `cmd:"" help:"Unlock the keyring once and serve it to every rolevault command from memory (prints lines for eval)."`
	Status AgentStatusCmd `cmd:"" help:"Show whether an agent runs, whether it is locked, its backend and the time left."`
	Lock   AgentLockCmd   `cmd:"" help:"Make the agent forget every secret; it keeps running and the next command unlocks it."`
	Stop   AgentStopCmd   `cmd:"" help:"Stop the agent and remove its socket."`
}

// AgentStartCmd is `rolevault agent start`.
type AgentStartCmd struct {
	Lifetime   time.Duration `env:"ROLEVAULT_AGENT_LIFETIME" default:"8h" placeholder:"8h" help:"Forget every secret this long after unlocking (the next command unlocks again)."`
	Idle       time.Duration `env:"ROLEVAULT_AGENT_IDLE" default:"1h" placeholder:"1h" help:"Forget every secret after this long without a request."`
	Foreground bool          `help:"Stay in the foreground (for systemd, launchd or a terminal); Ctrl-C stops the agent."`
	Fish       bool          `help:"Print the variable for fish."`
	Csh        bool          `help:"Print the variable for csh and tcsh."`

	// The detached agent's end of the pipes its parent made: the passphrase
	// comes in on one (never argv or the environment), "ready" goes out on
	// the other.
	PassFD  int `hidden:"" name:"pass-fd"`
	ReadyFD int `hidden:"" name:"ready-fd"`
}

// AgentStatusCmd is `rolevault agent status`.
type AgentStatusCmd struct{}

// AgentLockCmd is `rolevault agent lock`.
type AgentLockCmd struct{}

// AgentStopCmd is `rolevault agent stop`.
type AgentStopCmd struct{}

func agentUnsupported() error {
	return &hintedError{msg: agent.UnsupportedReason, hint: "Every rolevault command works without the agent, opening the keyring itself."}
}

func noAgentError(path string) error {
	return &hintedError{msg: fmt.Sprintf("no rolevault agent answers at %s", path), hint: `Start one with: eval "$(rolevault agent start)"`}
}

// dialAgent connects to the agent the socket path names, for the agent
// commands (other commands use it through Globals.Keyring).
func dialAgent() (*agent.Client, string, error) {
	if !agent.Supported {
		return nil, "", agentUnsupported()
	}
	path, err := agent.SocketPath(lookupEnv)
	if err != nil {
		return nil, "", err
	}
	c, err := agent.Dial(path)
	if errors.Is(err, agent.ErrNoAgent) {
		return nil, path, noAgentError(path)
	}
	if err != nil {
		var de *agent.DirError
		if errors.As(err, &de) {
			return nil, path, err
		}
		return nil, path, &hintedError{msg: err.Error(), hint: "Stop it with 'rolevault agent stop' (or end its process) and start this version's: eval \"$(rolevault agent start)\"", err: err}
	}
	return c, path, nil
}

// agentStartTimeout bounds how long start waits for the detached agent to
// open the keyring and listen.
const agentStartTimeout = time.Minute

// startSecret is what the parent hands the detached agent on the pipe.
type startSecret struct {
	Passphrase string `json:"passphrase"`
	FromEnv    bool   `json:"from_env"`
}

func (c *AgentStartCmd) Run(g *Globals) error {
	if !agent.Supported {
		return agentUnsupported()
	}
	if c.Lifetime <= 0 || c.Idle <= 0 {
		return &hintedError{msg: fmt.Sprintf("--lifetime %s and --idle %s must both be longer than zero", c.Lifetime, c.Idle), hint: "Give durations such as 8h and 1h (ROLEVAULT_AGENT_LIFETIME, ROLEVAULT_AGENT_IDLE)."}
	}
	path, err := agent.SocketPath(lookupEnv)
	if err != nil {
		return err
	}
	if ac, err := agent.Dial(path); err == nil {
		pid := ac.Status.PID
		ac.Close()
		return &hintedError{msg: fmt.Sprintf("a rolevault agent is already running at %s (pid %d)", path, pid),
			hint: "Use it (set ROLEVAULT_AGENT_SOCK=" + path + "), or stop it first with 'rolevault agent stop'."}
	} else {
		var de *agent.DirError
		if errors.As(err, &de) {
			return err
		}
	}
	if err := agent.PrepareDir(path); err != nil {
		return err
	}
	var secret startSecret
	if c.PassFD > 0 {
		f := os.NewFile(uintptr(c.PassFD), "passphrase")
		err := json.NewDecoder(io.LimitReader(f, 1<<16)).Decode(&secret)
		f.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			return c.failed(fmt.Errorf("reading the passphrase from the starting process: %w", err))
		}
	} else if secret, err = unlockForAgent(g); errors.Is(err, keychain.ErrNoTerminal) {
		// Under systemd or launchd nobody can type the file passphrase:
		// start locked, and the first command that needs a secret asks for
		// it on its own terminal and hands it over.
		fmt.Fprintln(g.streams.Err, "rolevault: agent: no terminal to ask for the file keyring's passphrase; starting locked (the first command that needs a secret asks for it)")
		secret = startSecret{}
	} else if err != nil {
		return err
	}
	if !c.Foreground {
		return c.detach(g, path, secret)
	}
	return c.serve(g, path, secret)
}

// unlockForAgent opens the keyring as a direct run would and, for the file
// backend, asks for the passphrase once and checks it against a stored item
// (twice, for a new keyring), so a mistyped one fails here, not later.
func unlockForAgent(g *Globals) (startSecret, error) {
	opts := g.keychainOptions()
	var typed string
	read := opts.ReadSecret
	opts.ReadSecret = func(what, prompt string) (string, error) {
		s, err := read(what, prompt)
		if err == nil {
			typed = s
		}
		return s, err
	}
	kr, b, err := keychain.Open(opts)
	if err != nil {
		return startSecret{}, err
	}
	if err := keychain.UnlockForWrite(&keychain.KeyStore{Keyring: kr}); err != nil {
		return startSecret{}, err
	}
	if b != keyring.FileBackend {
		return startSecret{}, nil
	}
	if v, ok := lookupEnv("AWS_VAULT_FILE_PASSPHRASE"); ok && v != "" {
		return startSecret{Passphrase: v, FromEnv: true}, nil
	}
	return startSecret{Passphrase: typed}, nil
}

// failed reports err to the parent waiting on the ready pipe, if any.
func (c *AgentStartCmd) failed(err error) error {
	if c.ReadyFD > 0 {
		f := os.NewFile(uintptr(c.ReadyFD), "ready")
		w := agent.WireError{Message: err.Error()}
		var h interface{ Hint() string }
		if errors.As(err, &h) {
			w.Hint = h.Hint()
		}
		b, _ := json.Marshal(w)
		fmt.Fprintf(f, "error %s\n", b)
		f.Close()
		c.ReadyFD = 0
	}
	return err
}

// serve runs the agent in this process until it is stopped.
func (c *AgentStartCmd) serve(g *Globals, path string, secret startSecret) error {
	opts := g.keychainOptions()
	opts.ReadSecret = nil // the agent never prompts
	// The passphrase is held in memory only: not in this process's
	// environment, where children could read it.
	os.Unsetenv("AWS_VAULT_FILE_PASSPHRASE")
	opts.LookupEnv = func(k string) (string, bool) {
		if k == "AWS_VAULT_FILE_PASSPHRASE" {
			return "", false
		}
		return lookupEnv(k)
	}
	cfg := agent.Config{Options: opts, Lifetime: c.Lifetime, Idle: c.Idle, Passphrase: secret.Passphrase, FromEnv: secret.FromEnv}
	if g.Debug {
		logw := g.streams.Err
		if c.ReadyFD > 0 {
			// Detached: the log goes to a private file beside the socket.
			f, err := os.OpenFile(filepath.Join(filepath.Dir(path), "agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				return c.failed(err)
			}
			defer f.Close()
			logw = f
		}
		cfg.Logf = func(format string, args ...any) {
			fmt.Fprintf(logw, "%s rolevault agent: %s\n", time.Now().Format(time.RFC3339), fmt.Sprintf(format, args...))
		}
	}
	srv, err := agent.NewServer(cfg)
	if err != nil {
		return c.failed(err)
	}
	ln, err := listenAgent(path)
	if err != nil {
		return c.failed(err)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	signal.Ignore(syscall.SIGHUP)
	go func() {
		select {
		case <-sigs:
			srv.Stop()
		case <-srv.Done():
		}
	}()
	if c.ReadyFD > 0 {
		f := os.NewFile(uintptr(c.ReadyFD), "ready")
		fmt.Fprintf(f, "ready %d\n", os.Getpid())
		f.Close()
	} else {
		c.printVars(g, path, os.Getpid())
	}
	err = srv.Serve(ln)
	_ = os.Remove(path)
	return err
}

// listenAgent binds the socket, 0600, replacing a stale one nobody answers on.
func listenAgent(path string) (*net.UnixListener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, &hintedError{msg: fmt.Sprintf("%s exists and is not a socket", path), hint: "Remove it, or set ROLEVAULT_AGENT_SOCK to another path."}
		}
		_ = os.Remove(path) // Dial found nobody answering there
	}
	old := umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

func (c *AgentStartCmd) printVars(g *Globals, path string, pid int) {
	p := path
	if strings.ContainsAny(p, " \t\n'\"\\$`;&|<>()*?[]#~!{}") {
		p = shQuote(p)
	}
	switch {
	case c.Fish:
		fmt.Fprintf(g.streams.Out, "set -x %s %s;\necho Agent pid %d;\n", agent.SockEnv, p, pid)
	case c.Csh:
		fmt.Fprintf(g.streams.Out, "setenv %s %s;\necho Agent pid %d;\n", agent.SockEnv, p, pid)
	default:
		fmt.Fprintf(g.streams.Out, "%s=%s; export %s;\necho Agent pid %d;\n", agent.SockEnv, p, agent.SockEnv, pid)
	}
}

// detach starts the agent again as its own session (setsid), hands it the
// passphrase on an inherited pipe, and prints the variables once it says it
// is listening.
func (c *AgentStartCmd) detach(g *Globals, path string, secret startSecret) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	passR, passW, err := os.Pipe()
	if err != nil {
		return err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		passR.Close()
		passW.Close()
		return err
	}
	args := g.globalArgs()
	args = append(args, "agent", "start", "--foreground", "--lifetime", c.Lifetime.String(), "--idle", c.Idle.String(), "--pass-fd=3", "--ready-fd=4")
	cmd := exec.Command(self, args...)
	cmd.ExtraFiles = []*os.File{passR, readyW}
	cmd.Env = append(environWithout("AWS_VAULT_FILE_PASSPHRASE", agent.SockEnv), agent.SockEnv+"="+path)
	cmd.Dir = "/"
	cmd.SysProcAttr = detachAttr()
	if err := cmd.Start(); err != nil {
		passR.Close()
		passW.Close()
		readyR.Close()
		readyW.Close()
		return fmt.Errorf("starting the agent: %w", err)
	}
	passR.Close()
	readyW.Close()
	_ = json.NewEncoder(passW).Encode(secret)
	passW.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	type readyLine struct {
		line string
		err  error
	}
	got := make(chan readyLine, 1)
	go func() {
		l, err := bufio.NewReader(readyR).ReadString('\n')
		got <- readyLine{l, err}
	}()
	var line string
	var rerr error
	select {
	case r := <-got:
		line, rerr = strings.TrimSpace(r.line), r.err
	case <-time.After(agentStartTimeout):
		_ = cmd.Process.Kill()
		<-exited
		readyR.Close()
		return &hintedError{msg: fmt.Sprintf("the agent did not start listening within %s", agentStartTimeout),
			hint: "Run 'rolevault --debug agent start --foreground' to see where it waits."}
	}
	readyR.Close()
	switch {
	case strings.HasPrefix(line, "ready "):
		c.printVars(g, path, cmd.Process.Pid)
		return nil
	case strings.HasPrefix(line, "error "):
		var w agent.WireError
		_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "error ")), &w)
		<-exited
		return &hintedError{msg: w.Message, hint: w.Hint}
	}
	err = <-exited
	if err == nil {
		err = rerr
	}
	return fmt.Errorf("the agent ended before it was ready: %v", err)
}

// globalArgs are the backend flags of this run, for the detached agent (the
// variables they came from are inherited anyway).
func (g *Globals) globalArgs() []string {
	var a []string
	add := func(name, v string) {
		if v != "" {
			a = append(a, "--"+name+"="+v)
		}
	}
	if g.Debug {
		a = append(a, "--debug")
	}
	add("backend", g.Backend)
	add("keychain", g.Keychain)
	add("secret-service-collection", g.SecretServiceCollection)
	add("pass-dir", g.PassDir)
	add("pass-cmd", g.PassCmd)
	add("pass-prefix", g.PassPrefix)
	add("file-dir", g.FileDir)
	return a
}

func environWithout(names ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || k == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

func (c *AgentStatusCmd) Run(g *Globals) error {
	ac, path, err := dialAgent()
	if err != nil {
		return err
	}
	defer ac.Close()
	resp, err := ac.Do(agent.Request{Op: agent.OpStatus})
	if err != nil {
		return err
	}
	st := resp.Status
	w := g.streams.Out
	state := "unlocked"
	if st.Locked {
		state = "locked (the next command unlocks it)"
	}
	backend := st.Backend
	if st.Place != "" && st.Place != st.Backend {
		backend += " (" + st.Place + ")"
	}
	fmt.Fprintf(w, "agent:         running, %s\n", state)
	fmt.Fprintf(w, "pid:           %d\n", st.PID)
	fmt.Fprintf(w, "socket:        %s\n", path)
	fmt.Fprintf(w, "backend:       %s\n", backend)
	if !st.Locked {
		fmt.Fprintf(w, "lifetime left: %s\n", time.Duration(st.LifetimeLeft)*time.Second)
		fmt.Fprintf(w, "idle left:     %s\n", time.Duration(st.IdleLeft)*time.Second)
	}
	fmt.Fprintf(w, "items held:    %d\n", st.Items)
	return nil
}

func (c *AgentLockCmd) Run(g *Globals) error {
	ac, _, err := dialAgent()
	if err != nil {
		return err
	}
	defer ac.Close()
	if _, err := ac.Do(agent.Request{Op: agent.OpLock}); err != nil {
		return err
	}
	fmt.Fprintf(g.streams.Err, "rolevault: agent (pid %d) locked: it holds no secret now; the next command unlocks it\n", ac.Status.PID)
	return nil
}

func (c *AgentStopCmd) Run(g *Globals) error {
	ac, path, err := dialAgent()
	if err != nil {
		return err
	}
	defer ac.Close()
	if _, err := ac.Do(agent.Request{Op: agent.OpStop}); err != nil {
		return err
	}
	// Stopped means gone: wait (briefly) for the socket to go with it.
	for i := 0; i < 100; i++ {
		if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprintf(g.streams.Err, "rolevault: agent (pid %d) stopped\n", ac.Status.PID)
	return nil
}

// shQuote quotes s for a POSIX shell.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
