package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/99designs/keyring"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/prompt"
)

// Validate checks --prompt and --backend (and AWS_VAULT_PROMPT,
// AWS_VAULT_BACKEND) while the command line is parsed, so an unknown value
// is a usage error (exit 2) before any file, keyring or prompt is touched.
// kong calls it on the CLI, which embeds Globals.
func (g *Globals) Validate() error {
	if g.Prompt != "" && !slices.Contains(prompt.Drivers(), g.Prompt) {
		return fmt.Errorf("unknown --prompt (AWS_VAULT_PROMPT) driver %q: use one of %s",
			g.Prompt, strings.Join(prompt.Drivers(), ", "))
	}
	if g.Backend != "" && !keychain.KnownBackend(keyring.BackendType(g.Backend)) {
		return fmt.Errorf("unknown keyring backend %q (--backend, AWS_VAULT_BACKEND): use one of %s",
			g.Backend, keychain.JoinBackends(keychain.BackendNames))
	}
	return nil
}
