// Open: the backend order, probing each backend, pass detection, and what to install when none is usable.

package keychain

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/99designs/keyring"
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

// KnownBackend reports whether b is one of BackendNames.
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

// JoinBackends lists backends as "a, b, c", for messages and help.
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
