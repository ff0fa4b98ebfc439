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
	"github.com/rolevault/rolevault/credentials"
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

// listedSignIn is an IAM Identity Center sign-in: an [sso-session] of the
// config, or a sign-in item in the keyring.
type listedSignIn struct {
	Name        string    `json:"name"`
	StartURL    string    `json:"start_url,omitempty"`
	SignedIn    bool      `json:"signed_in"`
	Source      string    `json:"source,omitempty"` // where the valid access token is
	Expiration  time.Time `json:"expiration,omitzero"`
	SecondsLeft int64     `json:"seconds_left"`
	Refreshable bool      `json:"refreshable"` // renewed without a browser
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
			SignIns  []listedSignIn  `json:"sso_sign_ins,omitempty"`
		}{string(g.KeyringBackend()), list, g.listSignIns(cfg, ks, now)})
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
	if err := w.Flush(); err != nil {
		return err
	}
	return printSignIns(out, g.listSignIns(cfg, ks, now))
}

// listSignIns describes every sign-in: the config's sso-sessions, then the
// keyring's sign-in items for start URLs of profiles without one. Only item
// names and the non-secret index are read, never a token.
func (g *Globals) listSignIns(cfg *config.Config, ks *keychain.KeyStore, now time.Time) []listedSignIn {
	opts, _ := g.ssoOptions()
	store := &keychain.SSOTokenStore{Keyring: ks.Keyring, IndexDir: ks.SessionIndexDir}
	var out []listedSignIn
	seen := map[string]bool{}
	add := func(name string, s *config.SSOSettings) {
		st := credentials.SSOStatusOf(store, &opts, s, now)
		seen[st.Key] = true
		l := listedSignIn{Name: name, StartURL: s.StartURL, SignedIn: st.Source != "", Source: st.Source, Refreshable: st.Refreshable}
		if l.SignedIn {
			l.Expiration = st.ExpiresAt.UTC()
			l.SecondsLeft = int64(st.ExpiresAt.Sub(now) / time.Second)
		}
		out = append(out, l)
	}
	for _, name := range cfg.SSOSessionNames() {
		if s, err := cfg.SSOSession(name); err == nil {
			add(name, s)
		}
	}
	items, _ := store.List()
	for _, it := range items {
		if seen[it.Key] {
			continue
		}
		l := listedSignIn{Name: it.Name}
		if st, ok, _ := store.State(it.Key); ok {
			l.StartURL, l.Refreshable = st.StartURL, st.Refreshable && st.ClientSecretExpiresAt.After(now)
			if st.ExpiresAt.After(now) {
				l.SignedIn, l.Source, l.Expiration, l.SecondsLeft = true, "rolevault's keyring item", st.ExpiresAt.UTC(), int64(st.ExpiresAt.Sub(now)/time.Second)
			}
		}
		out = append(out, l)
	}
	return out
}

// printSignIns is list's second table, shown only when there are sign-ins.
func printSignIns(out io.Writer, signIns []listedSignIn) error {
	if len(signIns) == 0 {
		return nil
	}
	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	fmt.Fprintln(w, "SSO SIGN-IN\tSTART URL\tSTATUS")
	for _, s := range signIns {
		status := "not signed in"
		switch {
		case s.SignedIn:
			status = "signed in, " + (time.Duration(s.SecondsLeft) * time.Second).String() + " left"
			if s.Refreshable {
				status += ", then renewed without a browser"
			}
		case s.Refreshable:
			status = "expired; renewed without a browser on next use"
		}
		name := s.Name
		if name == s.StartURL {
			name = "(no sso-session)" // a profile's own sso_start_url
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", name, orDash(s.StartURL), status)
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
