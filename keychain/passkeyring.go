package keychain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strings"

	"github.com/99designs/keyring"
)

// PassKeyring wraps the keyring library's pass backend so that replacing an
// item never leaves it empty. `pass insert -f` has gpg write the item's file
// in place (opened with O_TRUNC), so a failed write loses the old value; Set
// here inserts into a temporary name and then runs `pass mv -f`, which
// renames the file over the old one. Reads, removal and listing are the
// library's, except that Keys skips temporary names.
type PassKeyring struct {
	keyring.Keyring // the library's pass backend

	Cmd    string // the pass program; "" means pass
	Dir    string // PASSWORD_STORE_DIR for the program; "" leaves the environment's
	Prefix string // folder in the store, as keyring.Config.PassPrefix
}

func (k *PassKeyring) run(stdin []byte, args ...string) error {
	name := k.Cmd
	if name == "" {
		name = "pass"
	}
	cmd := exec.Command(name, args...)
	if k.Dir != "" {
		cmd.Env = append(os.Environ(), "PASSWORD_STORE_DIR="+k.Dir)
	}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb // stdout is discarded: pass mv reports the rename there
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(errb.String()); msg != "" {
			return fmt.Errorf("pass %s: %v: %s", args[0], err, msg)
		}
		return fmt.Errorf("pass %s: %w", args[0], err)
	}
	return nil
}

func (k *PassKeyring) name(key string) string {
	if k.Prefix == "" {
		return key
	}
	return path.Join(k.Prefix, key)
}

// Set stores the item (the same JSON the library writes) under a temporary
// name, then renames it over the item.
func (k *PassKeyring) Set(item keyring.Item) error {
	data, err := json.Marshal(item)
	if err != nil {
		return err
	}
	tmp, err := tempName()
	if err != nil {
		return err
	}
	if err := k.run(data, "insert", "-m", "-f", k.name(tmp)); err != nil {
		_ = k.run(nil, "rm", "-f", k.name(tmp))
		return err
	}
	if err := k.run(nil, "mv", "-f", k.name(tmp), k.name(item.Key)); err != nil {
		_ = k.run(nil, "rm", "-f", k.name(tmp))
		return err
	}
	return nil
}

// Keys lists the items, without temporary names.
func (k *PassKeyring) Keys() ([]string, error) {
	all, err := k.Keyring.Keys()
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, n := range all {
		if !IsPartialWrite(path.Base(n)) {
			out = append(out, n)
		}
	}
	return out, nil
}
