package cli

import (
	"errors"
	"fmt"

	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/prompt"
)

// RemoveCmd deletes a profile's stored access key and its cached sessions.
type RemoveCmd struct {
	Profile      string `arg:"" help:"Profile whose stored access key to delete." predictor:"profile"`
	Force        bool   `short:"f" help:"Delete without asking for confirmation."`
	SessionsOnly bool   `short:"s" hidden:"" help:"Only delete the cached sessions (as aws-vault's legacy flag; prefer 'rolevault clear')."`
}

// Help is shown by 'rolevault remove --help'.
func (c *RemoveCmd) Help() string {
	return `Deletes the access key stored under the profile name, and the sessions cached
from it, after asking on the terminal (--force skips the question). The key
itself stays valid in AWS: deactivate or delete it in IAM if it was exposed.`
}

// Run deletes the key.
func (c *RemoveCmd) Run(g *Globals) error {
	ks, err := g.KeyStore()
	if err != nil {
		return err
	}
	out := g.streams.Out
	if c.SessionsOnly {
		n, err := ks.RemoveSessions(c.Profile)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Deleted %d cached session(s) of profile %q.\n", n, c.Profile)
		return nil
	}
	has, err := ks.Has(c.Profile)
	if err != nil {
		return err
	}
	if !has {
		return &hintedError{msg: fmt.Sprintf("no access key is stored for profile %q in %s", c.Profile, g.backendPlace(g.KeyringBackend())),
			hint: "'rolevault list --credentials' shows the profiles that have one.", err: keychain.ErrKeyNotStored}
	}
	// Before the question: a mistyped passphrase is said at once.
	if err := ks.CheckOpens(c.Profile); err != nil {
		return err
	}
	if !c.Force {
		ok, err := prompt.Confirm(fmt.Sprintf("Delete the access key of profile %q and its cached sessions?", c.Profile))
		if errors.Is(err, prompt.ErrNoTerminal) {
			return &hintedError{msg: "there is no terminal to ask for confirmation on", hint: "Add --force (-f) to delete without asking.", err: err}
		}
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(out, "Nothing deleted.")
			return nil
		}
	}
	// Remove refuses, and keeps the key, when the keyring does not open for
	// it (a mistyped file passphrase, a locked collection).
	if err := ks.Remove(c.Profile); err != nil {
		return err
	}
	fmt.Fprintf(out, "Deleted the access key of profile %q.\n", c.Profile)
	n, err := ks.RemoveSessions(c.Profile)
	if err != nil {
		return fmt.Errorf("the key is deleted, but removing its cached sessions failed: %w", err)
	}
	if n > 0 {
		fmt.Fprintf(out, "Deleted %d cached session(s).\n", n)
	}
	return nil
}
