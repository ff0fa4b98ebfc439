package plan

import (
	"testing"
	"time"

	"github.com/rolevault/rolevault/config"
)

// The shared MFA session's length: a default request reuses whatever MFA
// session is cached (one code for `exec login` then `exec prod`), while a
// length asked for explicitly is honoured — never served by a shorter
// session a default request cached — and still shared by every request for
// that same length.
func TestSessionTokenKeyHonoursExplicitLength(t *testing.T) {
	key := func(env map[string]string, name string, opts Options) string {
		t.Helper()
		c := loadTest(t, seedConfig, "", env)
		p, err := c.Resolve(name, config.Overrides{Duration: opts.Duration})
		if err != nil {
			t.Fatal(err)
		}
		plan, err := New(p, opts)
		if err != nil {
			t.Fatal(err)
		}
		if plan.Steps[1].Kind != StepGetSessionToken {
			t.Fatalf("%s: step 1 is %s", name, plan.Steps[1].Kind)
		}
		return plan.Steps[1].CacheKey
	}
	shared := key(nil, "login", Options{})
	if k := key(nil, "prod", Options{}); k != shared {
		t.Errorf("default requests no longer share: login %s, prod %s", shared, k)
	}
	long := key(nil, "login", Options{Duration: 8 * time.Hour})
	if long == shared {
		t.Errorf("login --duration 8h reuses the default session's item %s", shared)
	}
	ttl := key(map[string]string{"AWS_SESSION_TOKEN_TTL": "8h"}, "login", Options{})
	if ttl == shared || ttl != long {
		t.Errorf("AWS_SESSION_TOKEN_TTL=8h: key %s; default %s, --duration 8h %s", ttl, shared, long)
	}
	chained := map[string]string{"AWS_CHAINED_SESSION_TOKEN_TTL": "12h"}
	dev, prod := key(chained, "dev", Options{}), key(chained, "prod", Options{})
	if dev == shared || dev != prod {
		t.Errorf("AWS_CHAINED_SESSION_TOKEN_TTL=12h: dev %s, prod %s (must match each other, not the default %s)", dev, prod, shared)
	}
}
