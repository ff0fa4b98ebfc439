package cli

import (
	"fmt"

	"github.com/rolevault/rolevault/keychain"
)

// ClearCmd removes cached sessions.
type ClearCmd struct {
	Profile string `arg:"" optional:"" help:"Only clear the sessions of this profile. Default: all." predictor:"profile"`
}

// Run removes the sessions; long-term keys are never touched.
func (c *ClearCmd) Run(g *Globals) error {
	ks, err := g.KeyStore()
	if err != nil {
		return err
	}
	n := 0
	if c.Profile != "" {
		n, err = ks.RemoveSessions(c.Profile)
		if err != nil {
			return err
		}
	} else {
		items, err := ks.Sessions()
		if err != nil {
			return err
		}
		cache := &keychain.SessionCache{Keyring: ks.Keyring, IndexDir: ks.SessionIndexDir}
		for _, it := range items {
			if err := cache.Remove(it.Name); err != nil {
				return err
			}
			n++
		}
	}
	noun := "sessions"
	if n == 1 {
		noun = "session"
	}
	fmt.Fprintf(g.streams.Err, "Cleared %d %s.\n", n, noun)
	return nil
}
