package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/keychain"
)

// ListCmd shows profiles, stored keys and cached sessions.
type ListCmd struct {
	Profiles    bool `xor:"only" help:"Print only the names of the profiles in the AWS config, one per line."`
	Sessions    bool `xor:"only" help:"Print only the cached sessions, one per line as PROFILE:KIND:TIME-LEFT."`
	Credentials bool `xor:"only" help:"Print only the names of the profiles that have a stored access key, one per line."`
	JSON        bool `name:"json" xor:"only" help:"Print profiles, stored keys and sessions as JSON, for scripts."`
	Check       bool `help:"Also read each stored access key (unlocking the keyring if it must) and show its key ID, masked, to check the keys are readable."`
}

// Help is shown by 'rolevault list --help'.
func (c *ListCmd) Help() string {
	return `Shows every profile of the AWS config, whether an access key is stored for it,
and its cached sessions with the time they have left. Listing reads only item
names (and the session index), so it does not ask for a passphrase unless a
session's expiry has to be read from the keyring, or --check is given.`
}

type listedSession struct {
	Kind        string    `json:"kind"`
	Expiration  time.Time `json:"expiration"`
	SecondsLeft int64     `json:"seconds_left"`
	Expired     bool      `json:"expired"`
}

type listedProfile struct {
	Name           string          `json:"name"`
	InConfig       bool            `json:"in_config"`
	HasCredentials bool            `json:"has_credentials"`
	AccessKeyID    string          `json:"access_key_id,omitempty"` // masked; only with --check
	Sessions       []listedSession `json:"sessions"`
}

// Run prints the listing.
func (c *ListCmd) Run(g *Globals) error {
	// One write per listing, not per line: a 10,000-profile config would
	// otherwise cost 10,000 write calls.
	buf := bufio.NewWriter(g.streams.Out)
	defer buf.Flush()
	out := io.Writer(buf)
	cfg, err := config.Load(config.LoadOptions{LookupEnv: lookupEnv})
	if err != nil {
		return err
	}
	if c.Profiles {
		// The files' order, as `aws configure list-profiles` and aws-vault print it.
		for _, p := range cfg.ProfileNamesInFileOrder() {
			fmt.Fprintln(out, p)
		}
		return nil
	}
	ks, err := g.KeyStore()
	if err != nil {
		return err
	}
	stored, err := ks.ListProfiles()
	if err != nil {
		return err
	}
	if c.Credentials && !c.Check {
		for _, p := range stored {
			fmt.Fprintln(out, p)
		}
		return nil
	}

	now := time.Now()
	byName := map[string]*listedProfile{}
	var order []*listedProfile
	get := func(name string) *listedProfile {
		p := byName[name]
		if p == nil {
			p = &listedProfile{Name: name, Sessions: []listedSession{}}
			byName[name] = p
			order = append(order, p)
		}
		return p
	}
	for _, n := range cfg.ProfileNames() {
		get(n).InConfig = true
	}
	for _, n := range stored {
		p := get(n)
		p.HasCredentials = true
		if c.Check {
			creds, err := ks.Get(n)
			if err != nil {
				return err
			}
			p.AccessKeyID = maskKeyID(creds.AccessKeyID)
		}
	}
	if c.Credentials {
		for _, n := range stored {
			fmt.Fprintf(out, "%s\t%s\n", n, byName[n].AccessKeyID)
		}
		return nil
	}
	sessions, err := ks.Sessions()
	if err != nil {
		return err
	}
	cache := &keychain.SessionCache{Keyring: ks.Keyring, IndexDir: ks.SessionIndexDir}
	for _, s := range sessions {
		exp, ok, _ := cache.Expiry(s.Name)
		if !ok {
			sess, err := cache.Get(s.Name)
			if err != nil {
				return err
			}
			if sess == nil {
				continue // corrupt, and the cache has dropped it
			}
			exp = sess.Expiration
		}
		left := exp.Sub(now).Truncate(time.Second)
		p := get(s.Profile)
		p.Sessions = append(p.Sessions, listedSession{Kind: string(s.Kind), Expiration: exp.UTC(), SecondsLeft: max(int64(left/time.Second), 0), Expired: left <= 0})
	}

	switch {
	case c.Sessions:
		for _, p := range order {
			for _, s := range p.Sessions {
				fmt.Fprintf(out, "%s:%s:%s\n", p.Name, s.Kind, remaining(s))
			}
		}
		return nil
	case c.JSON:
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		list := make([]listedProfile, len(order))
		for i, p := range order {
			list[i] = *p
		}
		return enc.Encode(struct {
			Backend  string          `json:"backend"`
			Profiles []listedProfile `json:"profiles"`
		}{string(g.KeyringBackend()), list})
	}

	if len(order) == 0 {
		// Nothing set up: say how to start (stderr, so the table stays clean).
		fmt.Fprintf(g.streams.Err, "rolevault: no profiles in %s and no access keys in %s yet; start with 'rolevault add PROFILE', which asks for the key and adds [profile PROFILE] to the config\n",
			tildeHome(cfg.ConfigPath()), g.backendPlace(g.KeyringBackend()))
	}
	w := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	header := "PROFILE\tCREDENTIALS\tSESSIONS"
	if c.Check {
		header = "PROFILE\tCREDENTIALS\tKEY ID\tSESSIONS"
	}
	fmt.Fprintln(w, header)
	for _, p := range order {
		name, creds := p.Name, "-"
		if !p.InConfig {
			name += " (not in config)"
		}
		if p.HasCredentials {
			creds = "stored"
		}
		var sess []string
		for _, s := range p.Sessions {
			left := remaining(s)
			if !s.Expired {
				left += " left"
			}
			sess = append(sess, s.Kind+" "+left)
		}
		if len(sess) == 0 {
			sess = []string{"-"}
		}
		if c.Check {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", name, creds, orDash(p.AccessKeyID), strings.Join(sess, ", "))
		} else {
			fmt.Fprintf(w, "%s\t%s\t%s\n", name, creds, strings.Join(sess, ", "))
		}
	}
	return w.Flush()
}

// remaining is a session's time left as Go prints durations ("59m12s"), or "expired".
func remaining(s listedSession) string {
	if s.Expired {
		return "expired"
	}
	return (time.Duration(s.SecondsLeft) * time.Second).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// maskKeyID keeps the first and last four characters of an access key ID:
// enough to tell keys apart, as the IAM console shows them.
func maskKeyID(id string) string {
	if len(id) <= 8 {
		return strings.Repeat("*", len(id))
	}
	return id[:4] + strings.Repeat("*", len(id)-8) + id[len(id)-4:]
}
