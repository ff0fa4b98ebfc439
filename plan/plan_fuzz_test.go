package plan

import (
	"errors"
	"testing"

	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/internal/configtest"
)

// FuzzPlan continues config's FuzzLoadConfig past Resolve: every profile
// that resolves plans into steps starting with a key source, or fails with a
// *ConfigError. Its corpus in testdata/fuzz/FuzzPlan is FuzzLoadConfig's.
func FuzzPlan(f *testing.F) {
	f.Add(seedConfig, seedCredentials)
	// No 5 KB seed here (FuzzLoadConfig has it, for message lengths): the
	// fuzzer minimises every new input, and minimising one that size through
	// Load, Resolve and New stalls the run for minutes.
	env := mapEnv(map[string]string{"AWS_MFA_SERIAL": "arn:aws:iam::111111111111:mfa/fuzz"})
	f.Fuzz(func(t *testing.T, configText, credentialsText string) {
		cfgFile, credsFile := configtest.Write(t, configText, credentialsText)
		c, err := config.Load(config.LoadOptions{ConfigFile: cfgFile, CredentialsFile: credsFile, LookupEnv: env})
		if err != nil {
			return // FuzzLoadConfig checks load errors
		}
		names := c.ProfileNames()
		if len(names) > 24 {
			names = names[:24]
		}
		for _, name := range names {
			p, err := c.Resolve(name, config.Overrides{})
			if err != nil {
				continue // FuzzLoadConfig checks Resolve errors
			}
			plan, perr := New(p, Options{})
			if perr != nil {
				var ce *config.ConfigError
				if !errors.As(perr, &ce) || ce.Kind == nil || !errors.Is(perr, ce.Kind) || ce.Hint() == "" {
					t.Fatalf("NewPlan(%q): error %v (%T) is not a typed *ConfigError with a hint", name, perr, perr)
				}
				continue
			}
			switch plan.Steps[0].Kind {
			case StepStoredKeys, StepCredentialsFile, StepEnvironment, StepCredentialProcess, StepWebIdentity, StepSSO:
			default:
				t.Fatalf("NewPlan(%q) starts with %s", name, plan.Steps[0].Kind)
			}
		}
	})
}
