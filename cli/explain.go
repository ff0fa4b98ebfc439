package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/credentials"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/plan"
	"golang.org/x/term"
)

// ExplainCmd prints the chain of calls a profile needs, without calling AWS
// and without reading any secret: the config, the plan, and the session
// cache's non-secret expiry index are all it looks at.
type ExplainCmd struct {
	Profile   string        `arg:"" help:"The profile to explain." predictor:"profile"`
	JSON      bool          `name:"json" help:"Print the plan as a JSON document, for scripts."`
	NoSession bool          `short:"n" help:"Explain the plan without the GetSessionToken MFA session, as exec --no-session would run it."`
	Duration  time.Duration `short:"d" env:"AWS_VAULT_DURATION" placeholder:"1h" help:"Explain the plan for this session duration, as exec --duration would run it."`
	Region    string        `placeholder:"REGION" help:"The AWS region for STS (overrides region in the profile)."`

	// inspector and now are for tests; nil means the session cache's index
	// and the real clock.
	inspector plan.CacheInspector
	now       func() time.Time
}

// Help is shown by 'rolevault explain --help'.
func (c *ExplainCmd) Help() string {
	return `Draws the chain rolevault would run for a profile: where the keys come from,
each STS call, which MFA device it needs and where the code would come from,
the duration and why, and the cache entry with whether it would be reused now.
It makes no network calls and reads no secrets (only the session cache's expiry
index and the keyring's item names, to say where a stored key is or that there
is none yet), so it is safe to run anywhere.`
}

// Run explains the profile.
func (c *ExplainCmd) Run(g *Globals) error {
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	// No HasStoredKeys hook: explain does not open the keyring for a profile
	// that has no keys in a file. One that has asks it by item name only
	// (no secret, no file passphrase), because a key stored under the same
	// name wins over the file's and explain must say which one is used.
	p, err := cfg.Resolve(c.Profile, config.Overrides{Region: c.Region, Duration: c.Duration, StoredKeyBesideFile: g.hasStoredKey})
	if err != nil {
		return err
	}
	pl, err := plan.New(p, plan.Options{NoSession: c.NoSession, Duration: c.Duration})
	if err != nil {
		return err
	}
	insp := c.inspector
	if insp == nil {
		if dir, err := keychain.DefaultCacheDir(); err == nil {
			// Expiry reads the index only; the keyring is never opened.
			insp = &keychain.SessionCache{IndexDir: dir}
		}
	}
	// For a stored key, the keyring's item names are listed once: they say
	// where the key is, and a session the index knows but another tool
	// (aws-vault clear) or a lost write removed is not cached, whatever the
	// index says.
	var names []string
	var namesErr error
	storedKey := len(pl.Steps) > 0 && pl.Steps[0].Kind == plan.StepStoredKeys
	if storedKey {
		var ks *keychain.KeyStore
		if ks, namesErr = g.KeyStore(); namesErr == nil {
			names, namesErr = ks.Keyring.Keys()
		}
		if namesErr == nil && c.inspector == nil && insp != nil {
			insp = presentInspector{inner: insp, names: names}
		}
	}
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	doc := explainPlan(pl, insp, now(), mfaOrigin{driver: g.Prompt})
	if storedKey && len(doc.Steps) > 0 {
		// Item names only: where the key is, or that there is none yet.
		doc.Steps[0].Source = g.storedKeySource(doc.Steps[0].Profile, names, namesErr)
		if src := profileInChain(p, doc.Steps[0].Profile); src != nil && src.FileKeysIgnored {
			doc.Steps[0].Source += fmt.Sprintf("; the plaintext copy in %s is ignored (delete it)", src.FileKeysAt)
		}
	}
	if len(doc.Steps) > 0 && pl.Steps[0].Kind == plan.StepSSO && pl.Steps[0].SSO != nil {
		sso, err := g.explainSSO(pl.Steps[0].SSO, doc.Steps, now())
		if err != nil {
			return err
		}
		doc.Steps[0].SSO = sso
	}
	if c.JSON {
		enc := json.NewEncoder(g.streams.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	renderExplain(g.streams.Out, doc, colorFor(g.streams.Out))
	return nil
}

// explainDoc is the JSON document of --json. Its field names are a contract
// with scripts: add fields, never rename or remove them.
type explainDoc struct {
	Profile              string        `json:"profile"`
	File                 string        `json:"file,omitempty"`
	Region               string        `json:"region,omitempty"`
	EndpointURL          string        `json:"endpoint_url,omitempty"`
	STSRegionalEndpoints string        `json:"sts_regional_endpoints,omitempty"`
	MinTTLSeconds        int64         `json:"min_ttl_seconds"`
	Steps                []explainStep `json:"steps"`
	Notes                []string      `json:"notes,omitempty"`
	Warnings             []string      `json:"warnings,omitempty"`
}

type explainStep struct {
	Index   int    `json:"index"`
	Kind    string `json:"kind"`
	Profile string `json:"profile"`
	// Source describes a key source step in words.
	Source string `json:"source,omitempty"`

	RoleARN               string            `json:"role_arn,omitempty"`
	RoleSessionName       string            `json:"role_session_name,omitempty"`
	ExternalID            string            `json:"external_id,omitempty"`
	SourceIdentity        string            `json:"source_identity,omitempty"`
	SessionTags           map[string]string `json:"session_tags,omitempty"`
	TransitiveSessionTags []string          `json:"transitive_session_tags,omitempty"`

	MFASerial  string `json:"mfa_serial,omitempty"`
	MFACode    string `json:"mfa_code_from,omitempty"` // mfa_process, prompt:<driver> or terminal
	MFAProcess string `json:"mfa_process,omitempty"`

	DurationSeconds int64  `json:"duration_seconds,omitempty"`
	DurationReason  string `json:"duration_reason,omitempty"`

	CacheKey string        `json:"cache_key,omitempty"`
	Cache    *explainCache `json:"cache,omitempty"`

	// SSO is the IAM Identity Center sign-in of an sso step.
	SSO *explainSSO `json:"sso,omitempty"`
}

// explainSSO is what explain knows about a sign-in, from the non-secret
// index and the AWS CLI's cache file: where a valid access token would come
// from and until when, whether an expired one would be refreshed without a
// browser, and, when a sign-in is needed, which flow and whether a browser
// tab would open.
type explainSSO struct {
	StartURL          string     `json:"start_url"`
	Region            string     `json:"region"`
	Session           string     `json:"sso_session,omitempty"`
	Scopes            []string   `json:"registration_scopes,omitempty"`
	TokenItem         string     `json:"token_item"`
	TokenFrom         string     `json:"token_from,omitempty"`
	TokenExpires      *time.Time `json:"token_expires,omitempty"`
	Refreshable       bool       `json:"refreshable"`
	Needed            bool       `json:"needed"` // false while the role session is reused
	SignInNeeded      bool       `json:"sign_in_needed"`
	BrowserWouldOpen  bool       `json:"browser_would_open"`
	Flow              string     `json:"flow"` // browser or device
	FlowReason        string     `json:"flow_reason"`
	SharesAWSCLICache bool       `json:"shares_aws_cli_cache"`
}

// explainCache is what the cache index says about a step's session. State
// is one of: not-checked, error, missing, valid, expiring, expired.
type explainCache struct {
	State       string     `json:"state"`
	Expires     *time.Time `json:"expires,omitempty"`
	SecondsLeft int64      `json:"seconds_left,omitempty"`
	// Reused is true for the step whose cached session would be handed out
	// (or built on) now; steps before it would not run at all.
	Reused  bool   `json:"reused"`
	Skipped bool   `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
}

// mfaOrigin is what decides where an MFA code comes from, in the order the
// prompt package chooses: --mfa-token (which only exec and friends take),
// the profile's mfa_process, --prompt / AWS_VAULT_PROMPT, then the terminal.
type mfaOrigin struct {
	driver string
}

// source is the mfa_code_from value of --json: mfa_process, prompt:<driver>
// or terminal.
func (o mfaOrigin) source(process string) string {
	switch {
	case strings.TrimSpace(process) != "":
		return "mfa_process"
	case o.driver != "":
		return "prompt:" + o.driver
	default:
		return "terminal"
	}
}

// explainPlan turns a plan into the document both outputs are drawn from.
func explainPlan(pl *plan.Plan, insp plan.CacheInspector, now time.Time, mfa mfaOrigin) explainDoc {
	p := pl.Profile
	doc := explainDoc{
		Profile: p.Name, File: p.File, Region: pl.Region, EndpointURL: pl.EndpointURL,
		STSRegionalEndpoints: pl.STSRegionalEndpoints, MinTTLSeconds: int64(pl.MinTTL / time.Second),
		Notes: pl.Notes, Warnings: p.Warnings,
	}
	reusedAt := -1
	for i, s := range pl.Steps {
		st := explainStep{
			Index: i + 1, Kind: string(s.Kind), Profile: s.Profile,
			RoleARN: s.RoleARN, RoleSessionName: s.RoleSessionName, ExternalID: s.ExternalID,
			SourceIdentity: s.SourceIdentity, SessionTags: s.SessionTags, TransitiveSessionTags: s.TransitiveSessionTags,
			MFASerial: s.MFASerial, DurationSeconds: int64(s.Duration / time.Second), DurationReason: s.DurationReason,
			CacheKey: s.CacheKey,
		}
		if i == 0 {
			st.Source = describeSource(s, pl.Profile)
		}
		if s.MFASerial != "" {
			st.MFACode = mfa.source(s.MFAProcess)
			st.MFAProcess = s.MFAProcess
		}
		if s.CacheKey != "" {
			st.Cache = inspectCache(insp, s.CacheKey, now, pl.MinTTL)
			if st.Cache.State == "valid" {
				reusedAt = i
			}
		}
		doc.Steps = append(doc.Steps, st)
	}
	// The provider starts from the last usable session: everything before it
	// is not needed, and only steps after it call STS.
	if reusedAt >= 0 {
		doc.Steps[reusedAt].Cache.Reused = true
		for i := 0; i < reusedAt; i++ {
			if doc.Steps[i].Cache != nil {
				doc.Steps[i].Cache.Skipped = true
			}
		}
	}
	return doc
}

// presentInspector answers from inner only for sessions whose keyring item
// exists.
type presentInspector struct {
	inner plan.CacheInspector
	names []string
}

func (p presentInspector) Expiry(key string) (time.Time, bool, error) {
	if !slices.Contains(p.names, key) {
		return time.Time{}, false, nil
	}
	return p.inner.Expiry(key)
}

func inspectCache(insp plan.CacheInspector, key string, now time.Time, minTTL time.Duration) *explainCache {
	if insp == nil {
		return &explainCache{State: "not-checked"}
	}
	exp, ok, err := insp.Expiry(key)
	switch {
	case err != nil:
		return &explainCache{State: "error", Error: err.Error()}
	case !ok:
		return &explainCache{State: "missing"}
	}
	left := exp.Sub(now)
	c := &explainCache{Expires: &exp, SecondsLeft: int64(left / time.Second)}
	switch {
	case left > minTTL:
		c.State = "valid"
	case left > 0:
		c.State = "expiring"
	default:
		c.State = "expired"
	}
	return c
}

// describeSource says where a plan's keys come from, in words.
func describeSource(s plan.Step, target *config.Profile) string {
	switch s.Kind {
	case plan.StepStoredKeys:
		if src := profileInChain(target, s.Profile); src != nil && src.FileKeysIgnored {
			return fmt.Sprintf("access key stored in the keychain as %q; the plaintext copy in %s is ignored (delete it)", s.Profile, src.FileKeysAt)
		}
		return fmt.Sprintf("access key stored in the keychain as %q (store it with 'rolevault add %s')", s.Profile, s.Profile)
	case plan.StepCredentialsFile:
		src := profileInChain(target, s.Profile)
		what := "long-term access key"
		if src != nil && src.FileKeys != nil && src.FileKeys.SessionToken != "" {
			what = "session credentials (aws_session_token)"
		}
		file := ""
		if src != nil && src.Origins["aws_access_key_id"] != "" {
			file = " in " + src.Origins["aws_access_key_id"]
		}
		return what + " written in plain text" + file
	case plan.StepEnvironment:
		return "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment (credential_source = Environment)"
	case plan.StepCredentialProcess:
		return "output of credential_process: " + s.CredentialProcess
	case plan.StepWebIdentity:
		if s.WebIdentityTokenFile != "" {
			return "web identity token from the file " + s.WebIdentityTokenFile
		}
		return "web identity token from the command " + s.WebIdentityTokenProcess
	case plan.StepSSO:
		if s.SSO == nil {
			return "IAM Identity Center"
		}
		via := ""
		if s.SSO.Session != "" {
			via = fmt.Sprintf(", sso-session %s", s.SSO.Session)
		}
		return fmt.Sprintf("IAM Identity Center role %s in account %s via %s (%s%s)", s.SSO.RoleName, s.SSO.AccountID, s.SSO.StartURL, s.SSO.Region, via)
	}
	return string(s.Kind)
}

func profileInChain(p *config.Profile, name string) *config.Profile {
	for q, n := p, 0; q != nil && n < 1000; q, n = q.Source, n+1 {
		if q.Name == name {
			return q
		}
	}
	return nil
}

// palette colours the tree; the zero palette prints plain text.
type palette struct{ bold, dim, good, warn, reset string }

// colorFor colours only a terminal, and never when NO_COLOR is set
// (https://no-color.org: any value, even empty, turns colour off).
func colorFor(w io.Writer) palette {
	if _, set := lookupEnv("NO_COLOR"); set {
		return palette{}
	}
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return palette{}
	}
	return palette{bold: "\x1b[1m", dim: "\x1b[2m", good: "\x1b[32m", warn: "\x1b[33m", reset: "\x1b[0m"}
}

func (c palette) b(s string) string { return c.wrap(c.bold, s) }
func (c palette) d(s string) string { return c.wrap(c.dim, s) }
func (c palette) wrap(code, s string) string {
	if code == "" {
		return s
	}
	return code + s + c.reset
}

// renderExplain draws the document as a small tree: one branch per step,
// with its details indented under it.
func renderExplain(w io.Writer, doc explainDoc, c palette) {
	head := c.b(doc.Profile)
	if doc.File != "" {
		head += c.d("  (" + doc.File + ")")
	}
	fmt.Fprintln(w, head)
	var settings []string
	if doc.Region != "" {
		settings = append(settings, "region "+doc.Region)
	} else {
		settings = append(settings, "region not set")
	}
	if doc.EndpointURL != "" {
		settings = append(settings, "STS endpoint "+doc.EndpointURL)
	} else if doc.STSRegionalEndpoints != "" {
		settings = append(settings, "STS endpoints "+doc.STSRegionalEndpoints)
	}
	settings = append(settings, "sessions reused while more than "+plan.FormatDuration(time.Duration(doc.MinTTLSeconds)*time.Second)+" remain")
	fmt.Fprintln(w, c.d(strings.Join(settings, " · ")))

	for i, s := range doc.Steps {
		last := i == len(doc.Steps)-1
		branch, indent := "├─ ", "│    "
		if last {
			branch, indent = "└─ ", "     "
		}
		fmt.Fprintf(w, "%s%d. %s\n", branch, s.Index, stepTitle(s, c))
		line := func(label, text string) {
			fmt.Fprintf(w, "%s%s %s\n", indent, c.d(fmt.Sprintf("%-9s", label)), text)
		}
		if s.Source != "" {
			line("keys", s.Source)
		}
		if s.RoleSessionName != "" {
			line("session", s.RoleSessionName)
		}
		if s.ExternalID != "" {
			line("external", "external id set")
		}
		if s.SourceIdentity != "" {
			line("identity", "source identity "+s.SourceIdentity)
		}
		if len(s.SessionTags) > 0 {
			line("tags", formatTags(s.SessionTags, s.TransitiveSessionTags))
		}
		if s.MFASerial != "" {
			line("MFA", s.MFASerial)
			line("code", mfaLong(s))
		} else if s.Kind == string(plan.StepGetSessionToken) {
			line("MFA", "none (no mfa_serial)")
		}
		if s.DurationSeconds > 0 {
			line("duration", plan.FormatDuration(time.Duration(s.DurationSeconds)*time.Second)+" — "+s.DurationReason)
		}
		if s.Cache != nil {
			line("cache", describeCache(s.Cache, c))
			line("", c.d(s.CacheKey))
		}
		if s.SSO != nil {
			for _, l := range describeSSO(s.SSO, c) {
				line(l[0], l[1])
			}
		}
	}
	for _, n := range doc.Notes {
		fmt.Fprintln(w, c.d("note: "+n))
	}
	for _, wn := range doc.Warnings {
		fmt.Fprintln(w, c.wrap(c.warn, "warning: "+wn))
	}
}

func stepTitle(s explainStep, c palette) string {
	as := " as " + c.b(s.Profile)
	switch plan.StepKind(s.Kind) {
	case plan.StepStoredKeys, plan.StepCredentialsFile, plan.StepEnvironment, plan.StepCredentialProcess:
		return "keys of " + c.b(s.Profile)
	case plan.StepSSO:
		return "IAM Identity Center (SSO)" + as
	case plan.StepWebIdentity:
		return "AssumeRoleWithWebIdentity " + s.RoleARN + as
	case plan.StepAssumeRole:
		return "AssumeRole " + s.RoleARN + as
	}
	return s.Kind + as
}

// mfaLong says in words where a step's MFA code comes from.
func mfaLong(s explainStep) string {
	switch {
	case s.MFACode == "mfa_process":
		return "from mfa_process: " + s.MFAProcess
	case strings.HasPrefix(s.MFACode, "prompt:"):
		return "asked with --prompt=" + strings.TrimPrefix(s.MFACode, "prompt:") + " (or --mfa-token)"
	default:
		return "asked on the terminal (or --mfa-token)"
	}
}

func describeCache(ch *explainCache, c palette) string {
	switch ch.State {
	case "not-checked":
		return "not checked"
	case "error":
		return c.wrap(c.warn, "cannot read the cache index: "+ch.Error)
	case "missing":
		if ch.Skipped {
			return "not cached, not needed while a later session is valid"
		}
		return "not cached: this call will be made"
	case "valid":
		left := plan.FormatDuration(time.Duration(ch.SecondsLeft) * time.Second / time.Minute * time.Minute)
		if ch.Reused {
			return c.wrap(c.good, "valid for "+left+" more: would be reused, no STS call")
		}
		if ch.Skipped {
			return "valid for " + left + " more, not needed while a later session is valid"
		}
		return "valid for " + left + " more"
	case "expiring":
		return c.wrap(c.warn, fmt.Sprintf("expires in %s, inside the refresh window: would be renewed",
			plan.FormatDuration(time.Duration(ch.SecondsLeft)*time.Second)))
	case "expired":
		return c.wrap(c.warn, "expired: would be renewed")
	}
	return ch.State
}

func formatTags(tags map[string]string, transitive []string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + tags[k]
	}
	s := strings.Join(parts, ", ")
	if len(transitive) > 0 {
		s += " (transitive: " + strings.Join(transitive, ", ") + ")"
	}
	return s
}

// explainSSO describes the sign-in of an sso step: the index and the AWS
// CLI's cache file only, never the keyring.
func (g *Globals) explainSSO(s *config.SSOSettings, steps []explainStep, now time.Time) (*explainSSO, error) {
	opts, err := g.ssoOptions()
	if err != nil {
		return nil, err
	}
	var store *keychain.SSOTokenStore
	if dir, err := keychain.DefaultCacheDir(); err == nil {
		store = &keychain.SSOTokenStore{IndexDir: dir}
	}
	st := credentials.SSOStatusOf(store, &opts, s, now)
	e := &explainSSO{StartURL: s.StartURL, Region: s.Region, Session: s.Session, Scopes: s.Scopes(), TokenItem: st.Key,
		TokenFrom: st.Source, Refreshable: st.Refreshable, SignInNeeded: st.SignIn, FlowReason: st.FlowWhy,
		SharesAWSCLICache: s.ShareCache, Flow: "device"}
	if st.Flow == credentials.SSOFlowBrowser {
		e.Flow = "browser"
	}
	if !st.ExpiresAt.IsZero() {
		exp := st.ExpiresAt
		e.TokenExpires = &exp
	}
	// The sign-in matters only when no later session is reused.
	e.Needed = true
	for _, step := range steps {
		if step.Cache != nil && step.Cache.Reused {
			e.Needed = false
		}
	}
	e.BrowserWouldOpen = e.Needed && e.SignInNeeded && e.Flow == "browser"
	return e, nil
}

// describeSSO is explain's lines for a sign-in.
func describeSSO(e *explainSSO, c palette) [][2]string {
	where := e.StartURL + " (" + e.Region
	if e.Session != "" {
		where += ", sso-session " + e.Session
	}
	where += ")"
	if len(e.Scopes) > 0 {
		where += ", scopes " + strings.Join(e.Scopes, " ")
	} else {
		where += ", no scopes: no refresh token (use an [sso-session] for one)"
	}
	out := [][2]string{{"sign-in", where}}
	var tok string
	switch {
	case e.TokenFrom != "" && e.TokenExpires != nil:
		tok = fmt.Sprintf("access token valid until %s, from %s", e.TokenExpires.Local().Format("2006-01-02 15:04"), e.TokenFrom)
	case e.Refreshable:
		tok = "access token expired or missing: renewed with the refresh token, no browser"
	default:
		tok = c.wrap(c.warn, "no valid sign-in: you would be signed in")
	}
	if e.SharesAWSCLICache {
		tok += "; shared with the AWS CLI's cache (rolevault_share_sso_cache)"
	}
	out = append(out, [2]string{"token", tok})
	flow := "in the browser (authorization code with PKCE)"
	if e.Flow == "device" {
		flow = "with a code shown on the terminal (device authorization)"
	}
	var now string
	switch {
	case !e.Needed:
		now = "not needed while the cached session is valid"
	case e.BrowserWouldOpen:
		now = "a browser tab would open now"
	case e.SignInNeeded:
		now = "you would be asked to sign in now, no browser tab"
	default:
		now = "no browser now"
	}
	out = append(out, [2]string{"signs in", flow + ": " + e.FlowReason + "; " + now})
	return out
}
