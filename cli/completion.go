package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/posener/complete"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/prompt"
	"github.com/willabides/kongplete"
)

// CompletionCmd prints the script that hooks rolevault into a shell's
// completion. The script makes the shell run rolevault itself with COMP_LINE
// set, so completions always match the binary's commands and flags.
type CompletionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"Shell to print the script for: bash, zsh or fish."`
}

// Help is shown under 'rolevault completion --help'.
func (c *CompletionCmd) Help() string {
	return `Completes command names, flags and profile names (from your AWS config).
Load it from your shell's startup file:

  bash (~/.bashrc):                    eval "$(rolevault completion bash)"
  zsh (~/.zshrc):                      eval "$(rolevault completion zsh)"
  fish (~/.config/fish/config.fish):   rolevault completion fish | source`
}

// Run prints the script.
func (c *CompletionCmd) Run(g *Globals) error {
	bin := completionBinary()
	var script string
	switch c.Shell {
	case "bash":
		script = fmt.Sprintf(`# rolevault completion for bash; load with: eval "$(rolevault completion bash)"
# bash runs the program with COMP_LINE set; -o default falls back to file
# names where rolevault has nothing to offer (the command after 'exec --').
complete -o default -C %s rolevault
`, shellWord(bin))
	case "zsh":
		script = fmt.Sprintf(`# rolevault completion for zsh; load with: eval "$(rolevault completion zsh)"
# zsh's bash-compatible 'complete' runs the program with COMP_LINE set.
(( $+functions[compdef] )) || { autoload -U +X compinit && compinit }
autoload -U +X bashcompinit && bashcompinit
complete -o default -C %s rolevault
`, shellWord(bin))
	case "fish":
		script = fmt.Sprintf(`# rolevault completion for fish; load with: rolevault completion fish | source
function __rolevault_complete
    # rolevault completes the line in COMP_LINE; an empty current token
    # means the cursor starts a new word.
    set -lx COMP_LINE (commandline -cp)
    if test -z (commandline -ct)
        set COMP_LINE "$COMP_LINE "
    end
    %s
end
complete -c rolevault -f -a '(__rolevault_complete)'
`, shellWord(bin))
	}
	_, err := fmt.Fprint(g.streams.Out, script)
	return err
}

// completionBinary is what the script runs: plain "rolevault" when that is
// this binary on PATH, so the script survives upgrades that move the file,
// else this binary's absolute path.
func completionBinary() string {
	self, err := os.Executable()
	if err != nil {
		return "rolevault"
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	if onPath, err := exec.LookPath("rolevault"); err == nil {
		if resolved, err := filepath.EvalSymlinks(onPath); err == nil && resolved == self {
			return "rolevault"
		}
	}
	return self
}

// shellWord quotes s for bash, zsh and fish alike (single quotes, which all
// three take literally), unless it needs none.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// completeIfAsked answers a shell's completion request (COMP_LINE set) and
// reports that the process is done. It must run before kong parses: the
// line being completed is usually not a valid command line yet.
func completeIfAsked(p *kong.Kong, s Streams) (code int, done bool) {
	if _, ok := os.LookupEnv("COMP_LINE"); !ok {
		return 0, false
	}
	code = -1
	kongplete.Complete(p,
		kongplete.WithPredictor("profile", complete.PredictFunc(predictProfiles)),
		// Registered ahead of the flags that may name them; an unused
		// predictor costs nothing, a missing one fails every completion.
		kongplete.WithPredictor("backend", complete.PredictFunc(func(complete.Args) []string {
			names := make([]string, len(keychain.BackendNames))
			for i, b := range keychain.BackendNames {
				names[i] = string(b)
			}
			return names
		})),
		kongplete.WithPredictor("prompt", complete.PredictSet(prompt.Drivers()...)),
		kongplete.WithErrorHandler(func(err error) { fmt.Fprintf(s.Err, "rolevault: completion: %v\n", err) }),
		kongplete.WithExitFunc(func(c int) {
			if code == -1 {
				code = c
			}
		}),
	)
	if code == -1 {
		// COMP_LINE was set but empty: nothing to complete, so run normally.
		return 0, false
	}
	return code, true
}

// predictProfiles lists the profiles of the AWS config. It never opens the
// keyring: a completion must not ask for a passphrase.
func predictProfiles(complete.Args) []string {
	cfg, err := config.Load(config.LoadOptions{LookupEnv: lookupEnv})
	if err != nil {
		return nil
	}
	return cfg.ProfileNames()
}
