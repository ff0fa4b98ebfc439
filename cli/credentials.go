package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/credentials"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/plan"
	"github.com/rolevault/rolevault/prompt"
)

// sessionFlags are the flags of every command that fetches credentials, named
// and shortened as aws-vault v7 names them.
type sessionFlags struct {
	Duration  time.Duration `short:"d" env:"AWS_VAULT_DURATION" placeholder:"1h" help:"Duration of the temporary or assume-role session (e.g. 1h, 90m). Default: 1h for roles, 8h for a shared MFA session."`
	NoSession bool          `short:"n" help:"Skip the GetSessionToken MFA session; use the stored keys directly (with MFA on each AssumeRole)."`
	Region    string        `placeholder:"REGION" help:"The AWS region for STS and for the child (overrides region in the profile)."`
	MFAToken  string        `short:"t" name:"mfa-token" placeholder:"CODE" help:"The current MFA code, instead of being asked for it."`
}

// credentialSetup is what a command needs to fetch a profile's credentials.
type credentialSetup struct {
	profile  *config.Profile
	plan     *plan.Plan
	provider *credentials.Provider
}

func (g *Globals) debugf(format string, args ...any) {
	if g.Debug {
		fmt.Fprintf(g.streams.Err, "rolevault: debug: "+format+"\n", args...)
	}
}

// loadConfig reads the AWS config files and prints their warnings.
func (g *Globals) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(config.LoadOptions{LookupEnv: lookupEnv})
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(g.streams.Err, "rolevault: warning: %s\n", w)
	}
	return cfg, nil
}

// resolveProfile loads the config and resolves name with the session flags.
func (g *Globals) resolveProfile(name string, f sessionFlags) (*config.Config, *config.Profile, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	p, err := cfg.Resolve(name, config.Overrides{
		Region:              f.Region,
		Duration:            f.Duration,
		HasStoredKeys:       g.hasStoredKey,
		StoredKeyBesideFile: g.hasStoredKey,
	})
	if err != nil {
		return nil, nil, err
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(g.streams.Err, "rolevault: warning: %s\n", w)
	}
	return cfg, p, nil
}

// hasStoredKey reports whether the keyring holds an item named profile. It
// asks by name only (KeyStore.Has lists item names): no secret is decrypted,
// so the file backend needs no passphrase, and the keyring it opens is the
// one the rest of the run uses. A keyring that cannot be opened or listed
// counts as holding nothing: a profile with keys in a file then keeps
// working, exactly as on a machine without any keyring.
func (g *Globals) hasStoredKey(profile string) bool {
	ks, err := g.KeyStore()
	if err != nil {
		g.debugf("keyring: cannot check for a stored key of %s: %v", profile, err)
		return false
	}
	// Has lists every item name: say so, as the lazy keyring does for its
	// own listings, so --debug shows each scan a run makes, not only reads.
	g.debugf("keyring: listing every item (is a key stored for %s?)", profile)
	ok, err := ks.Has(profile)
	if err != nil {
		g.debugf("keyring: cannot check for a stored key of %s: %v", profile, err)
	}
	return ok
}

// setupCredentials resolves a profile, plans it and builds the provider that
// will run the plan. Nothing here touches the keyring or the network: the
// keyring is opened only when the provider first reads from it.
func (g *Globals) setupCredentials(name string, f sessionFlags, opts plan.Options) (*credentialSetup, error) {
	_, p, err := g.resolveProfile(name, f)
	if err != nil {
		return nil, err
	}
	opts.NoSession = opts.NoSession || f.NoSession
	if f.Duration != 0 {
		opts.Duration = f.Duration
	}
	pl, err := plan.New(p, opts)
	if err != nil {
		return nil, err
	}
	if f.MFAToken != "" {
		if _, err := prompt.ValidateCode(f.MFAToken); err != nil {
			return nil, &hintedError{msg: fmt.Sprintf("--mfa-token: %v", err), hint: "Pass the 6-digit code your MFA device shows now.", err: err}
		}
	}
	prov, err := g.newProvider(f)
	if err != nil {
		return nil, err
	}
	return &credentialSetup{profile: p, plan: pl, provider: prov}, nil
}

// newProvider wires the vault provider to this invocation's keyring, cache
// directory, prompts and streams.
func (g *Globals) newProvider(f sessionFlags) (*credentials.Provider, error) {
	cacheDir, err := keychain.DefaultCacheDir()
	if err != nil {
		return nil, err
	}
	kr := g.lazyKeyring()
	sso, err := g.ssoOptions()
	if err != nil {
		return nil, err
	}
	return &credentials.Provider{
		Keys:      &lazyKeyStore{g: g},
		Cache:     &keychain.SessionCache{Keyring: kr, IndexDir: cacheDir, Debugf: g.debugf},
		SSOTokens: &keychain.SSOTokenStore{Keyring: kr, IndexDir: cacheDir, Debugf: g.debugf},
		SSO:       sso,
		Locks: &keychain.Locks{Dir: cacheDir, Waiting: func(holder string) {
			if holder == "" {
				holder = "another rolevault process"
			}
			fmt.Fprintf(g.streams.Err, "rolevault: waiting for %s\n", holder)
		}, Timeout: lockTimeout(sso.Timeout)},
		MFA:       g.mfaPrompt(f.MFAToken),
		LookupEnv: lookupEnv,
		Debugf:    g.debugf,
		Warnf: func(format string, args ...any) {
			fmt.Fprintf(g.streams.Err, "rolevault: warning: "+format+"\n", args...)
		},
	}, nil
}

// lockTimeout is how long to wait for another process's lock: the default,
// or longer when ROLEVAULT_SSO_TIMEOUT lets a sign-in (which holds the
// lock) wait longer than that for the person.
func lockTimeout(sso time.Duration) time.Duration {
	if sso+time.Minute > keychain.DefaultLockTimeout {
		return sso + time.Minute
	}
	return 0
}

// ssoOptions is how this run signs in to IAM Identity Center: the
// command's --stdout (or AWS_VAULT_STDOUT) asks for a device code, the
// browser is opened with openBrowser, messages go to the terminal device,
// and ROLEVAULT_SSO_TIMEOUT bounds the wait.
func (g *Globals) ssoOptions() (credentials.SSOOptions, error) {
	o := credentials.SSOOptions{
		OpenBrowser:   openBrowserExplained,
		BrowserOpener: browserOpener,
		Tell:          g.tellPerson,
	}
	if v, ok := lookupEnv("AWS_VAULT_STDOUT"); ok && v != "" && v != "0" && !strings.EqualFold(v, "false") {
		o.NoBrowser, o.NoBrowserWhy = true, "AWS_VAULT_STDOUT"
	} else if g.ssoNoBrowser {
		o.NoBrowser, o.NoBrowserWhy = true, "--stdout"
	}
	if v, ok := lookupEnv(credentials.SSOTimeoutEnv); ok && strings.TrimSpace(v) != "" {
		d, err := credentials.ParseSSOTimeout(v)
		if err != nil {
			return o, err
		}
		o.Timeout = d
	}
	return o, nil
}

// mfaPrompt adapts the prompt package to vault's MFAPrompt. The source is
// chosen per profile (mfa_process belongs to one) and kept for the run, so an
// interactive source's retry budget spans the whole command.
func (g *Globals) mfaPrompt(token string) credentials.MFAPrompt {
	sources := map[string]prompt.Source{}
	return func(ctx context.Context, req credentials.MFARequest) (string, error) {
		src, ok := sources[req.Process]
		if !ok {
			var err error
			src, err = prompt.Choose(prompt.Options{Token: token, Process: req.Process, Driver: g.Prompt, Stderr: g.streams.Err})
			if err != nil {
				return "", &hintedError{msg: err.Error(), hint: "Valid --prompt drivers: " + strings.Join(prompt.Drivers(), ", ") + ".", err: err}
			}
			sources[req.Process] = src
		}
		if req.Rejected != nil && !src.Rejected(req.Serial, req.Rejected) {
			return "", credentials.ErrNoRetry
		}
		if req.Lost != nil && !src.ReplyLost(req.Serial) {
			return "", credentials.ErrNoRetry
		}
		code, err := src.Func(ctx, req.Serial)
		if errors.Is(err, prompt.ErrNoPrompt) {
			return "", &hintedError{msg: err.Error(), hint: "In scripts and CI, pass --mfa-token or set mfa_process in the profile.", err: err}
		}
		return code, err
	}
}

// retrieve fetches the credentials at the end of the plan, honouring Ctrl-C
// while it waits for a lock, a prompt or STS.
func (s *credentialSetup) retrieve(ctx context.Context) (aws.Credentials, error) {
	return s.provider.Retrieve(ctx, s.plan)
}

// interruptContext is cancelled by SIGINT or SIGTERM, so waiting for another
// process's lock or for STS stops when the person presses Ctrl-C. Its cause
// is a *signalError naming the signal, so the exit status can be 128+N.
func interruptContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-sigs:
			cancel(&signalError{s})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		cancel(context.Canceled)
	}
}

// signalError is the cause of a context a signal cancelled.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string { return "received " + e.sig.String() }

// exitCode is what a shell reports for a process the signal ended.
func (e *signalError) exitCode() int {
	if s, ok := e.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 130
}

// region is the region a child should see: the flag, else the profile's.
func (s *credentialSetup) region() string {
	if s.plan.Region != "" {
		return s.plan.Region
	}
	return s.profile.Region
}
