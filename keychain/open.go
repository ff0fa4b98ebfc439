package keychain

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"github.com/99designs/keyring"
	"github.com/rolevault/rolevault/plan"
)

// BackendNames are the values --backend accepts, in the order help lists them.
var BackendNames = []keyring.BackendType{
	keyring.KeychainBackend, keyring.WinCredBackend, keyring.SecretServiceBackend,
	keyring.KWalletBackend, keyring.KeyCtlBackend, keyring.PassBackend, keyring.FileBackend,
}

// DefaultBackendOrder is what rolevault tries when --backend is not given: the
// OS's own keychain first, then pass, then the encrypted file, which always
// opens, so a headless machine ends there instead of failing. keyctl is never
// picked by default: the kernel keyring forgets everything at reboot, and a
// long-term key must not vanish because nobody chose where it went.
func DefaultBackendOrder() []keyring.BackendType {
	switch runtime.GOOS {
	case "darwin":
		return []keyring.BackendType{keyring.KeychainBackend, keyring.PassBackend, keyring.FileBackend}
	case "windows":
		return []keyring.BackendType{keyring.WinCredBackend, keyring.FileBackend}
	}
	order := []keyring.BackendType{keyring.SecretServiceBackend}
	// Opening a wallet starts KWallet's setup wizard when there is none, which
	// hangs without a display; only a KDE session is sure to have a wallet.
	if strings.Contains(strings.ToUpper(os.Getenv("XDG_CURRENT_DESKTOP")), "KDE") {
		order = append(order, keyring.KWalletBackend)
	}
	return append(order, keyring.PassBackend, keyring.FileBackend)
}

// keyctlPerm lets the owning user, not only a process that possesses the key,
// read and write rolevault's kernel keys. With the kernel's default
// (possessor-only) permissions an item stored in the user keyring cannot be read
// back by the next rolevault process when that process runs in another session
// keyring (a new login, `keyctl session`, sudo -u). Possessor and user both get
// view, read, write, search, link and setattr; group and others get nothing.
const keyctlPerm = 0x3f3f0000

// Options say which backend Open opens and how. The CLI builds them from its
// flags and environment; nothing here reads flags or owns a terminal.
type Options struct {
	Backend                 string // "" tries DefaultBackendOrder
	KeychainName            string // macOS keychain
	SecretServiceCollection string
	PassDir                 string
	PassCmd                 string
	PassPrefix              string
	FileDir                 string // may start with ~

	// LookupEnv reads AWS_VAULT_KEYCTL_SCOPE and AWS_VAULT_FILE_PASSPHRASE
	// (nil means os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// ReadSecret asks for the file keyring's passphrase with echo off:
	// what names the secret, prompt is the line shown. An error matching
	// ErrNoTerminal means there is nowhere to ask. Nil means no prompt.
	ReadSecret func(what, prompt string) (string, error)
	// Debug turns on the keyring library's own trace; Debugf, if set, is
	// told which backend opened and why others were skipped.
	Debug  bool
	Debugf func(format string, args ...any)
}

// ErrNoTerminal is what Options.ReadSecret's error matches when there is no
// terminal to ask on.
var ErrNoTerminal = errors.New("no terminal")

func (o *Options) lookupEnv(k string) (string, bool) {
	if o.LookupEnv == nil {
		return os.LookupEnv(k)
	}
	return o.LookupEnv(k)
}

func (o *Options) debugf(format string, args ...any) {
	if o.Debugf != nil {
		o.Debugf(format, args...)
	}
}

// hintedError is an error with the second line the CLI prints under it.
type hintedError struct {
	msg, hint string
	err       error // cause, for errors.Is
}

func (e *hintedError) Error() string { return e.msg }
func (e *hintedError) Hint() string  { return e.hint }
func (e *hintedError) Unwrap() error { return e.err }

// ErrWrongFilePassphrase matches the error for a file keyring that the given
// passphrase does not decrypt.
var ErrWrongFilePassphrase = errors.New("wrong passphrase for the file keyring")

// ErrKeyringLocked matches the error for a keyring that is locked and could
// not be unlocked from here.
var ErrKeyringLocked = errors.New("keyring is locked")

func (g *Options) keyringConfig() (keyring.Config, error) {
	fileDir, err := ExpandHome(g.FileDir)
	if err != nil {
		return keyring.Config{}, err
	}
	scope := "user"
	if v, ok := g.lookupEnv("AWS_VAULT_KEYCTL_SCOPE"); ok && v != "" {
		scope = v
	}
	switch scope {
	case "user", "usersession", "session", "process", "thread":
	default:
		return keyring.Config{}, &hintedError{
			msg:  fmt.Sprintf("AWS_VAULT_KEYCTL_SCOPE=%q is not a kernel keyring scope", scope),
			hint: "Use user (the default: shared by all your processes), usersession, session, process or thread.",
		}
	}
	// User-readable permissions only where possession is the problem: for the
	// session, process and thread keyrings the process possesses its keys
	// anyway, and keyring v1.2.2's permission path (create in the session
	// keyring, link to the parent, unlink from the session keyring) orphans
	// the named keyring when the parent is the session keyring itself.
	var perm uint32
	if scope == "user" || scope == "usersession" {
		perm = keyctlPerm
	}
	return keyring.Config{
		ServiceName:              ServiceName,
		KeychainName:             g.KeychainName,
		KeychainTrustApplication: true,
		LibSecretCollectionName:  g.SecretServiceCollection,
		KWalletAppID:             ServiceName,
		KWalletFolder:            ServiceName,
		WinCredPrefix:            ServiceName,
		PassDir:                  g.PassDir,
		PassCmd:                  g.PassCmd,
		PassPrefix:               g.PassPrefix,
		FileDir:                  fileDir,
		FilePasswordFunc:         rememberPassphrase(g.filePassphrase(fileDir)),
		KeyCtlScope:              scope,
		KeyCtlPerm:               perm,
	}, nil
}

// ExpandHome expands a leading ~ the way a shell would, since the default
// --file-dir is "~/.awsvault/keys/" and env values are not shell-expanded.
func ExpandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") && !strings.HasPrefix(p, `~\`) {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("expanding %s: %w", p, err)
	}
	return filepath.Join(home, p[1:]), nil
}

// Open opens the backend opts.Backend names, or else the first of
// DefaultBackendOrder that works here, with errors that say what to install,
// start or unlock. It returns the backend it opened.
func Open(opts Options) (keyring.Keyring, keyring.BackendType, error) {
	g := &opts
	keyring.Debug = g.Debug // the library's own trace, on stderr
	cfg, err := g.keyringConfig()
	if err != nil {
		return nil, "", err
	}
	if g.Backend != "" {
		b := keyring.BackendType(g.Backend)
		if !KnownBackend(b) {
			return nil, "", &hintedError{
				msg:  fmt.Sprintf("unknown keyring backend %q", g.Backend),
				hint: "Valid backends: " + JoinBackends(BackendNames) + " (set with --backend or AWS_VAULT_BACKEND).",
			}
		}
		kr, err := g.openBackend(cfg, b)
		return kr, b, err
	}
	var tried []string
	for _, b := range DefaultBackendOrder() {
		kr, err := g.probeBackend(cfg, b)
		if err == nil {
			return kr, b, nil
		}
		g.debugf("keyring backend %s skipped: %v", b, err)
		tried = append(tried, fmt.Sprintf("%s: %v", b, err))
	}
	return nil, "", &hintedError{
		msg:  "no keyring backend works here (" + strings.Join(tried, "; ") + ")",
		hint: "Choose one with --backend; docs/backends.md says what each needs.",
	}
}

// probeBackend opens b for the default choice. Opening the OS keychains is the
// probe: they may need an unlock prompt to list items, and a locked keychain is
// still where the user's keys are, so it must not be skipped for the file
// backend. pass counts only when it has been initialised, since an
// uninitialised store would accept nothing.
func (g *Options) probeBackend(cfg keyring.Config, b keyring.BackendType) (keyring.Keyring, error) {
	if !registered(b) {
		return nil, errors.New("not available on this machine")
	}
	if b == keyring.PassBackend {
		if _, err := passStoreInitialised(cfg); err != nil {
			return nil, err
		}
	}
	kr, err := g.openBackend(cfg, b)
	if err != nil {
		return nil, err
	}
	if b == keyring.PassBackend {
		if _, err := kr.Keys(); err != nil {
			return nil, err
		}
	}
	return kr, nil
}

// openBackend opens exactly b, with errors that say what to install or start.
func (g *Options) openBackend(cfg keyring.Config, b keyring.BackendType) (keyring.Keyring, error) {
	if !registered(b) {
		return nil, unavailableError(b, nil)
	}
	if b == keyring.FileBackend {
		if err := privateKeyDir(cfg.FileDir); err != nil {
			return nil, err
		}
	}
	if b == keyring.PassBackend {
		if dir, err := passStoreInitialised(cfg); err != nil {
			if _, lookErr := exec.LookPath(passCmd(cfg)); lookErr != nil {
				return nil, unavailableError(b, lookErr)
			}
			return nil, &hintedError{
				msg:  fmt.Sprintf("the pass store %s is not initialised", dir),
				hint: "Run 'pass init <your GPG key ID>' (or point --pass-dir at your store).",
				err:  err,
			}
		}
	}
	var kr keyring.Keyring
	if b == keyring.FileBackend {
		// Same files as the library's file backend, written by rename.
		kr = &FileKeyring{Dir: cfg.FileDir, PasswordFunc: cfg.FilePasswordFunc}
	} else {
		cfg.AllowedBackends = []keyring.BackendType{b}
		var err error
		if kr, err = keyring.Open(cfg); err != nil {
			return nil, unavailableError(b, err)
		}
	}
	if b == keyring.PassBackend {
		// pass's own insert rewrites an item in place; PassKeyring renames.
		dir, _ := passStoreInitialised(cfg)
		kr = &PassKeyring{Keyring: kr, Cmd: cfg.PassCmd, Dir: dir, Prefix: cfg.PassPrefix}
	}
	return &checkedKeyring{Keyring: kr, g: g, backend: b, cfg: cfg}, nil
}

func KnownBackend(b keyring.BackendType) bool {
	for _, k := range BackendNames {
		if k == b {
			return true
		}
	}
	return false
}

func registered(b keyring.BackendType) bool {
	for _, k := range keyring.AvailableBackends() {
		if k == b {
			return true
		}
	}
	return false
}

func JoinBackends(bs []keyring.BackendType) string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = string(b)
	}
	return strings.Join(s, ", ")
}

// unavailableError explains why backend b cannot be used here and what would
// make it usable. cause is the library's reason, when it gave one.
func unavailableError(b keyring.BackendType, cause error) error {
	why := "is not available on this machine"
	if cause != nil {
		why = "cannot be opened: " + cause.Error()
	}
	e := &hintedError{msg: fmt.Sprintf("keyring backend %s %s", b, why), err: cause}
	switch b {
	case keyring.KeychainBackend:
		e.hint = "The keychain backend is macOS only; on this system try --backend file."
	case keyring.WinCredBackend:
		e.hint = "The wincred backend is Windows only; on this system try --backend file."
	case keyring.SecretServiceBackend, keyring.KWalletBackend:
		if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" && cause == nil {
			e.msg = fmt.Sprintf("keyring backend %s needs a D-Bus session bus, and none is reachable (DBUS_SESSION_BUS_ADDRESS is not set)", b)
		}
		if b == keyring.SecretServiceBackend {
			e.hint = "Run rolevault in your desktop session with gnome-keyring or KeePassXC running (Debian: apt install gnome-keyring), or use --backend file on a server."
		} else {
			e.hint = "Run rolevault in your KDE session with kwalletd5 running (Debian: apt install kwalletmanager), or use --backend secret-service or file."
		}
	case keyring.KeyCtlBackend:
		if runtime.GOOS != "linux" {
			e.hint = "keyctl is the Linux kernel keyring; on this system try --backend file."
		} else {
			e.hint = "The kernel keyring syscalls may be blocked (containers often filter them); use --backend file instead. AWS_VAULT_KEYCTL_SCOPE chooses the scope (default user)."
		}
	case keyring.PassBackend:
		if runtime.GOOS == "windows" {
			e.hint = "pass does not run on Windows; use --backend wincred or file."
		} else {
			e.hint = "Install pass (Debian: apt install pass gnupg), run 'pass init <your GPG key ID>', or name its program with --pass-cmd."
		}
	}
	return e
}

func passCmd(cfg keyring.Config) string {
	if cfg.PassCmd != "" {
		return cfg.PassCmd
	}
	return "pass"
}

// passStoreInitialised finds the store directory as the keyring library does
// and reports an error unless `pass init` has been run for it (or for the
// prefix folder rolevault writes into).
func passStoreInitialised(cfg keyring.Config) (string, error) {
	dir := cfg.PassDir
	if dir == "" {
		if d, ok := os.LookupEnv("PASSWORD_STORE_DIR"); ok {
			dir = d
		} else {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", err
			}
			dir = filepath.Join(home, ".password-store")
		}
	}
	dir, err := ExpandHome(dir)
	if err != nil {
		return "", err
	}
	for _, d := range []string{filepath.Join(dir, cfg.PassPrefix), dir} {
		if _, err := os.Stat(filepath.Join(d, ".gpg-id")); err == nil {
			return dir, nil
		}
	}
	return dir, fmt.Errorf("%s has no .gpg-id: pass init has not been run", dir)
}

// privateKeyDir makes the file keyring's directory exist with mode 0700, and
// its items 0600 when the directory was not private: a directory made by hand
// or an item copied from elsewhere keeps its mode until rewritten.
func privateKeyDir(dir string) error {
	if dir == "" {
		return &hintedError{msg: "no directory for the file keyring", hint: "Set --file-dir or AWS_VAULT_FILE_DIR."}
	}
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("creating the file keyring directory: %w", err)
		}
		fi, err = os.Stat(dir)
	}
	if err != nil {
		return fmt.Errorf("file keyring directory: %w", err)
	}
	if !fi.IsDir() {
		return &hintedError{msg: fmt.Sprintf("the file keyring directory %s is not a directory", dir), hint: "Point --file-dir (AWS_VAULT_FILE_DIR) at a directory."}
	}
	if runtime.GOOS == "windows" {
		return nil // modes mean nothing there; the profile directory's ACL protects it
	}
	if fi.Mode().Perm()&0o077 == 0 {
		// Private already. Items are written as new 0600 files (see
		// FileKeyring), so a run that only reads — every warm exec
		// and export — must not pay for listing and stat-ing the directory.
		return nil
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("making %s private: %w", dir, err)
	}
	// A directory that was open to others may hold items that were too.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("file keyring directory: %w", err)
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(filepath.Join(dir, e.Name()), 0o600); err != nil {
				return fmt.Errorf("making %s private: %w", e.Name(), err)
			}
		}
	}
	return nil
}

// filePassphrase asks for the file keyring's passphrase: from
// AWS_VAULT_FILE_PASSPHRASE, else on the terminal device with echo off (not
// trimmed: spaces may belong to it). The library calls it once per opened
// keyring and keeps the answer.
func (g *Options) filePassphrase(dir string) keyring.PromptFunc {
	return func(string) (string, error) {
		if v, ok := g.lookupEnv("AWS_VAULT_FILE_PASSPHRASE"); ok {
			if v == "" {
				return "", &hintedError{
					msg:  "AWS_VAULT_FILE_PASSPHRASE is set but empty; rolevault does not encrypt keys with an empty passphrase",
					hint: "Set it to your passphrase, or unset it to be asked on the terminal.",
				}
			}
			return v, nil
		}
		noTTY := func(err error) error {
			if errors.Is(err, ErrNoTerminal) {
				return &hintedError{
					msg:  fmt.Sprintf("the file keyring in %s needs its passphrase, and there is no terminal to ask on", dir),
					hint: "Set AWS_VAULT_FILE_PASSPHRASE, or run rolevault from a terminal.",
					err:  err,
				}
			}
			return err
		}
		read := g.ReadSecret
		if read == nil {
			read = func(string, string) (string, error) { return "", ErrNoTerminal }
		}
		if !dirHasItems(dir) {
			pw, err := read("the file keyring passphrase", fmt.Sprintf("Choose a passphrase for the new file keyring in %s: ", dir))
			if err != nil {
				return "", noTTY(err)
			}
			if err := refuseEmptyPassphrase(pw); err != nil {
				return "", err
			}
			again, err := read("the file keyring passphrase", "Type it again: ")
			if err != nil {
				return "", noTTY(err)
			}
			if again != pw {
				return "", &hintedError{msg: "the two passphrases differ; nothing was stored", hint: "Run the command again."}
			}
			return pw, nil
		}
		pw, err := read("the file keyring passphrase", fmt.Sprintf("Passphrase for the file keyring in %s: ", dir))
		if err != nil {
			return "", noTTY(err)
		}
		return pw, refuseEmptyPassphrase(pw)
	}
}

func refuseEmptyPassphrase(pw string) error {
	if pw == "" {
		return &hintedError{
			msg:  "empty passphrase: rolevault does not encrypt keys with an empty passphrase",
			hint: "Type a passphrase (it protects your AWS keys on disk).",
		}
	}
	return nil
}

func dirHasItems(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			return true
		}
	}
	return false
}

// noObjectAtRoot is gnome-keyring's answer (quotes vary by locale) when a
// create or unlock prompt was dismissed and go-libsecret used the empty path.
var noObjectAtRoot = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`Object does not exist at path .?/.?$`) })

// checkedKeyring turns the backends' raw failures into errors that say what to
// do: a wrong file passphrase, a locked collection or
type checkedKeyring struct {
	keyring.Keyring
	g       *Options
	backend keyring.BackendType
	cfg     keyring.Config
}

func (k *checkedKeyring) Get(key string) (keyring.Item, error) {
	it, err := k.Keyring.Get(key)
	if plan.IsSessionKey(key) && errors.Is(err, ErrUndecodableItem) {
		return it, err // a cache miss for the session cache, not a wrong passphrase
	}
	return it, k.explain(err)
}

func (k *checkedKeyring) Set(it keyring.Item) error { return k.explain(k.Keyring.Set(it)) }

func (k *checkedKeyring) Remove(key string) error { return k.explain(k.Keyring.Remove(key)) }

func (k *checkedKeyring) Keys() ([]string, error) {
	keys, err := k.Keyring.Keys()
	return keys, k.explain(err)
}

func (k *checkedKeyring) explain(err error) error {
	if err == nil || errors.Is(err, keyring.ErrKeyNotFound) {
		return err
	}
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return err // already says what to do (e.g. from the passphrase prompt)
	}
	msg := err.Error()
	lower := strings.ToLower(msg)
	switch k.backend {
	case keyring.FileBackend:
		if strings.Contains(msg, "integrity check failed") {
			hint := "Type the passphrase you chose when you stored your first key there."
			if _, ok := k.g.lookupEnv("AWS_VAULT_FILE_PASSPHRASE"); ok {
				hint = "AWS_VAULT_FILE_PASSPHRASE does not match the passphrase these keys were stored with."
			}
			return &hintedError{msg: fmt.Sprintf("wrong passphrase for the file keyring in %s", k.cfg.FileDir), hint: hint, err: ErrWrongFilePassphrase}
		}
	case keyring.SecretServiceBackend:
		coll := k.cfg.LibSecretCollectionName
		if strings.Contains(lower, "locked") {
			return &hintedError{
				msg:  fmt.Sprintf("the secret-service collection %q is locked: unlock it and run the command again", coll),
				hint: fmt.Sprintf("Unlock %q in your desktop's Passwords and Keys app (seahorse), or log in to your desktop session, which unlocks it.", coll),
				err:  fmt.Errorf("%w: %v", ErrKeyringLocked, err),
			}
		}
		if noObjectAtRoot().MatchString(msg) {
			// Creating or unlocking needed a password prompt, and the daemon
			// could not show one (no display), so it answered with no object.
			return &hintedError{
				msg:  fmt.Sprintf("the secret-service collection %q could not be created or unlocked: the keyring daemon could not show its password prompt", coll),
				hint: "Create or unlock it from your desktop session, choose an existing collection with --secret-service-collection (e.g. login), or use --backend file.",
				err:  fmt.Errorf("%w: %v", ErrKeyringLocked, err),
			}
		}
	case keyring.KeychainBackend:
		if strings.Contains(lower, "interaction is not allowed") || strings.Contains(lower, "passphrase you entered is not correct") {
			return &hintedError{
				msg:  fmt.Sprintf("the macOS keychain %q is locked: unlock it and run the command again", k.cfg.KeychainName),
				hint: fmt.Sprintf("Run 'security unlock-keychain %s.keychain' or unlock it in Keychain Access.", k.cfg.KeychainName),
				err:  fmt.Errorf("%w: %v", ErrKeyringLocked, err),
			}
		}
	}
	return err
}
