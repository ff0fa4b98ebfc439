package credentials

import (
	"testing"

	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/internal/configtest"
)

// loadTest writes config and credentials into a temp dir and loads them with
// the given environment (and nothing from the real one).
func loadTest(t testing.TB, configText, credentialsText string, env map[string]string) *config.Config {
	t.Helper()
	cfg, creds := configtest.Write(t, configText, credentialsText)
	c, err := config.Load(config.LoadOptions{ConfigFile: cfg, CredentialsFile: creds, LookupEnv: mapEnv(env)})
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	return c
}

func mapEnv(env map[string]string) func(string) (string, bool) { return configtest.MapEnv(env) }
