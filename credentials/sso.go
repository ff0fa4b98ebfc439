// IAM Identity Center: the access token of a sign-in (from the keyring, aws-vault's item or the AWS CLI's cache, refreshed or signed in again under one lock) and the role credentials GetRoleCredentials gives for it.

package credentials

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/plan"
)

// DefaultSSOTimeout bounds the wait for a person to finish signing in, when
// ROLEVAULT_SSO_TIMEOUT does not set it.
const DefaultSSOTimeout = 5 * time.Minute

// SSOTimeoutEnv sets how long a sign-in may wait for the person (a Go
// duration such as 20s or 10m).
const SSOTimeoutEnv = "ROLEVAULT_SSO_TIMEOUT"

// SSOOptions are how this run signs a person in to IAM Identity Center.
type SSOOptions struct {
	// NoBrowser asks for the device flow (--stdout, AWS_VAULT_STDOUT);
	// NoBrowserWhy names what asked, for explain and --debug.
	NoBrowser    bool
	NoBrowserWhy string
	// Timeout bounds the wait for the person; zero means DefaultSSOTimeout.
	Timeout time.Duration
	// OpenBrowser opens a URL in the person's browser; nil when none can.
	OpenBrowser func(url string) error
	// BrowserOpener names the program OpenBrowser would run, "" when none
	// is installed, so the flow is chosen (and explained) before a sign-in.
	BrowserOpener func() string
	// Tell shows the person a line while signing in: the terminal device,
	// else stderr, never stdout (it may be credential_process's document).
	Tell func(msg string)
	// CLICacheDir is the AWS CLI's token cache; "" means ~/.aws/sso/cache.
	CLICacheDir string
}

// SSOFlow is how a sign-in is done.
type SSOFlow string

// The two flows.
const (
	SSOFlowBrowser SSOFlow = "authorization code with PKCE in the browser"
	SSOFlowDevice  SSOFlow = "device authorization (a code to enter on a web page)"
)

// ChooseFlow picks the sign-in flow and says why: the browser flow when a
// browser can be opened, the device flow when asked for or when none can.
func (o *SSOOptions) ChooseFlow() (SSOFlow, string) {
	if o.NoBrowser {
		why := o.NoBrowserWhy
		if why == "" {
			why = "asked for"
		}
		return SSOFlowDevice, why + " asks for a code instead of a browser"
	}
	opener := ""
	if o.BrowserOpener != nil {
		opener = o.BrowserOpener()
	}
	if o.OpenBrowser == nil || opener == "" {
		return SSOFlowDevice, "no program to open a browser was found (xdg-open, x-www-browser or www-browser)"
	}
	return SSOFlowBrowser, "a browser can be opened (" + opener + ")"
}

func (o *SSOOptions) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultSSOTimeout
}

func (o *SSOOptions) tell(format string, args ...any) {
	if o.Tell != nil {
		o.Tell(fmt.Sprintf(format, args...))
	}
}

// ParseSSOTimeout reads ROLEVAULT_SSO_TIMEOUT's value.
func ParseSSOTimeout(v string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d <= 0 {
		return 0, &ProviderError{Err: fmt.Errorf("%s %q is not a positive duration", SSOTimeoutEnv, v),
			HintLine: "set it to a Go duration such as 90s or 10m, or unset it for the default of 5m"}
	}
	return d, nil
}

// NewSSOOIDCClient is the IAM Identity Center OIDC client for s, at the
// endpoint the SDK would use: the profile's sso_oidc endpoint
// (AWS_ENDPOINT_URL_SSO_OIDC, [services] sso_oidc, AWS_ENDPOINT_URL,
// endpoint_url) or AWS's https://oidc.REGION.amazonaws.com.
func NewSSOOIDCClient(prof *config.Profile, s *config.SSOSettings, hc aws.HTTPClient) *ssooidc.Client {
	o := ssooidc.Options{Region: s.Region, HTTPClient: hc}
	if ep := ssoOIDCEndpoint(prof); ep != "" {
		o.BaseEndpoint = aws.String(ep)
	}
	return ssooidc.New(o)
}

// NewSSOPortalClient is the IAM Identity Center portal client for s
// (GetRoleCredentials, ListAccounts, ListAccountRoles, Logout), at the
// profile's sso endpoint or AWS's https://portal.sso.REGION.amazonaws.com.
func NewSSOPortalClient(prof *config.Profile, s *config.SSOSettings, hc aws.HTTPClient) *sso.Client {
	o := sso.Options{Region: s.Region, HTTPClient: hc}
	if prof != nil && prof.SSOEndpointURL != "" {
		o.BaseEndpoint = aws.String(strings.TrimRight(prof.SSOEndpointURL, "/"))
	}
	return sso.New(o)
}

func ssoOIDCEndpoint(prof *config.Profile) string {
	if prof != nil && prof.SSOOIDCEndpointURL != "" {
		return strings.TrimRight(prof.SSOOIDCEndpointURL, "/")
	}
	return ""
}

// oidcBase is where the browser is sent to authorize: the OIDC endpoint.
func oidcBase(prof *config.Profile, region string) string {
	if ep := ssoOIDCEndpoint(prof); ep != "" {
		return ep
	}
	return "https://oidc." + region + ".amazonaws.com"
}

// ssoProfile is the profile of the chain that holds the SSO settings, for
// its endpoints; a bare one when the plan was built by hand.
func ssoProfile(pl *plan.Plan, step plan.Step) *config.Profile {
	if prof := pl.ProfileNamed(step.Profile); prof != nil {
		return prof
	}
	return &config.Profile{Name: step.Profile, SSO: step.SSO}
}

// ssoRoleCredentials exchanges the sign-in's access token for the role's
// credentials. A token the portal refuses (signed out, revoked) is dropped
// and the sign-in renewed once.
func (p *Provider) ssoRoleCredentials(ctx context.Context, pl *plan.Plan, step plan.Step) (aws.Credentials, error) {
	s := step.SSO
	if s == nil {
		return aws.Credentials{}, fmt.Errorf("profile %q: no SSO settings", step.Profile)
	}
	prof := ssoProfile(pl, step)
	client := NewSSOPortalClient(prof, s, p.client(pl))
	var out *sso.GetRoleCredentialsOutput
	err, tokErr := p.withSSOToken(ctx, prof, s, func(token string) error {
		var err error
		out, err = client.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{
			AccessToken: aws.String(token), AccountId: aws.String(s.AccountID), RoleName: aws.String(s.RoleName),
		})
		return err
	})
	if tokErr != nil {
		return aws.Credentials{}, tokErr
	}
	if err != nil {
		if ctx.Err() != nil {
			return aws.Credentials{}, keychain.InterruptedWhile(ctx, "getting IAM Identity Center credentials")
		}
		return aws.Credentials{}, &ProviderError{
			Err:      fmt.Errorf("profile %q: IAM Identity Center GetRoleCredentials for role %s in account %s failed (%s)", step.Profile, s.RoleName, s.AccountID, ssoFailure(err)),
			HintLine: "check sso_account_id and sso_role_name: the role must be assigned to you in IAM Identity Center",
			Cause:    err,
		}
	}
	rc := out.RoleCredentials
	if rc == nil || rc.AccessKeyId == nil {
		return aws.Credentials{}, errors.New("IAM Identity Center returned no credentials")
	}
	p.debugf("got IAM Identity Center credentials %s for role %s in account %s, expiring %s",
		mask(aws.ToString(rc.AccessKeyId)), s.RoleName, s.AccountID, time.UnixMilli(rc.Expiration).UTC().Format(time.RFC3339))
	return aws.Credentials{
		AccessKeyID: aws.ToString(rc.AccessKeyId), SecretAccessKey: aws.ToString(rc.SecretAccessKey), SessionToken: aws.ToString(rc.SessionToken),
		CanExpire: true, Expires: time.UnixMilli(rc.Expiration), Source: "sso",
	}, nil
}

// isUnauthorized reports the portal's 401: the access token is no good.
func isUnauthorized(err error) bool {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusUnauthorized {
		return true
	}
	return apiCode(err) == "UnauthorizedException"
}

// ssoTokenMargin is how much lifetime an access token must have left to be
// handed to the portal: at most a minute, less for tokens that live only
// minutes, so a short-lived token is still used.
func ssoTokenUsable(t *keychain.SSOToken, now time.Time, rejected string) bool {
	if t == nil || t.AccessToken == "" || (rejected != "" && t.AccessToken == rejected) {
		return false
	}
	margin := time.Minute
	if !t.IssuedAt.IsZero() {
		if life := t.ExpiresAt.Sub(t.IssuedAt); life/4 < margin {
			margin = life / 4
		}
	}
	return t.ExpiresAt.After(now.Add(margin))
}

// SSOAccessToken returns a valid access token for the sign-in s belongs to
// (prof gives the endpoints; nil means AWS's). It uses, in order: the
// keyring's item when its access token is valid; the newest valid access
// token aws-vault v7 or the AWS CLI cached; a refresh with a refresh token
// (no browser); a new sign-in. Refreshing and signing in run under the
// sign-in's cross-process lock, so concurrent callers cause one of each.
// rejected is an access token the portal refused, never handed out again.
func (p *Provider) SSOAccessToken(ctx context.Context, prof *config.Profile, s *config.SSOSettings, rejected string) (*keychain.SSOToken, error) {
	key := plan.SSOTokenKey(s.TokenName(), s.StartURL, s.Region)
	own, err := p.ssoTokenGet(key)
	if err != nil {
		return nil, err
	}
	now := p.now()
	if ssoTokenUsable(own, now, rejected) {
		p.debugf("using the IAM Identity Center access token for %s from the keyring (expires %s)", s.StartURL, own.ExpiresAt.UTC().Format(time.RFC3339))
		return own, nil
	}
	if t, from := p.foreignSSOToken(s, now, rejected); t != nil {
		p.debugf("using the IAM Identity Center access token for %s from %s (expires %s)", s.StartURL, from, t.ExpiresAt.UTC().Format(time.RFC3339))
		return t, nil
	}

	started := p.now()
	if p.Locks != nil {
		release, err := p.Locks.Acquire(ctx, key, "signing you in to "+s.StartURL)
		if err != nil {
			return nil, err
		}
		defer release()
		if own, err = p.ssoTokenGet(key); err != nil {
			return nil, err
		}
		if ssoTokenUsable(own, p.now(), rejected) {
			p.debugf("another process signed in to %s; using its token", s.StartURL)
			return own, nil
		}
		if msg, failed := p.ssoFailedSince(key, started); failed {
			return nil, &ProviderError{Err: fmt.Errorf("the IAM Identity Center sign-in another rolevault process was doing failed: %s", msg),
				HintLine: "run the command again to start a new sign-in"}
		}
	}
	return p.renewSSOToken(ctx, prof, s, key, own)
}

func (p *Provider) ssoTokenGet(key string) (*keychain.SSOToken, error) {
	if p.SSOTokens == nil {
		return nil, nil
	}
	return p.SSOTokens.Get(key)
}

func (p *Provider) ssoFailedSince(key string, since time.Time) (string, bool) {
	if p.SSOTokens == nil {
		return "", false
	}
	return p.SSOTokens.FailedSince(key, since)
}

// foreignSSOToken is the newest valid access token another tool cached for
// s: aws-vault v7's keyring item or the AWS CLI's cache file.
func (p *Provider) foreignSSOToken(s *config.SSOSettings, now time.Time, rejected string) (*keychain.SSOToken, string) {
	var best *keychain.SSOToken
	from := ""
	if p.SSOTokens != nil {
		if t, err := p.SSOTokens.AWSVaultToken(s.StartURL); err != nil {
			p.debugf("%v", err)
		} else if ssoTokenUsable(t, now, rejected) {
			best, from = t, "aws-vault's keyring item oidc:"+s.StartURL
		}
	}
	if t, path := p.cliCachedToken(s); ssoTokenUsable(t, now, rejected) && (best == nil || t.ExpiresAt.After(best.ExpiresAt)) {
		best, from = t, "the AWS CLI's cache "+path
	}
	return best, from
}

// renewSSOToken refreshes the sign-in with a refresh token (rolevault's,
// else the AWS CLI's) and, only when that is refused or there is none,
// signs the person in again. The new token is stored before it is used, so
// a rotated refresh token is never lost.
func (p *Provider) renewSSOToken(ctx context.Context, prof *config.Profile, s *config.SSOSettings, key string, own *keychain.SSOToken) (*keychain.SSOToken, error) {
	// The profile's ca_bundle applies, also when this is the run's first
	// AWS call (a caller asking for a token without a plan).
	oidc := NewSSOOIDCClient(prof, s, p.client(&plan.Plan{Profile: prof}))
	now := p.now()
	cli, cliPath := p.cliCachedToken(s)
	for _, cand := range []struct {
		t    *keychain.SSOToken
		from string
	}{{own, "the keyring"}, {cli, "the AWS CLI's cache " + cliPath}} {
		if cand.t == nil || cand.t.RefreshToken == "" || !cand.t.RegistrationValid(now) {
			continue
		}
		t, err := p.refreshSSOToken(ctx, oidc, s, cand.t)
		if err == nil {
			p.debugf("refreshed the IAM Identity Center access token for %s with the refresh token from %s, without a browser", s.StartURL, cand.from)
			if err := p.storeSSOToken(key, s, t, cand.t == cli); err != nil {
				return nil, err
			}
			return t, nil
		}
		if ctx.Err() != nil {
			return nil, keychain.InterruptedWhile(ctx, "refreshing the IAM Identity Center sign-in to "+s.StartURL)
		}
		if !refreshRefused(err) {
			return nil, &ProviderError{Err: fmt.Errorf("refreshing the IAM Identity Center sign-in to %s failed (%s)", s.StartURL, ssoFailure(err)),
				HintLine: "check your network and the sso_region of the sign-in, then try again", Cause: err}
		}
		p.debugf("IAM Identity Center refused the refresh token from %s (%s); signing in again", cand.from, apiCode(err))
	}
	reg := own
	if reg == nil {
		reg = &keychain.SSOToken{}
	}
	t, err := p.ssoSignIn(ctx, prof, s, oidc, reg)
	if err != nil {
		if p.SSOTokens != nil && ctx.Err() == nil {
			p.SSOTokens.RecordFailure(key, err.Error(), p.now())
		}
		return nil, err
	}
	if p.SSOTokens != nil {
		p.SSOTokens.ClearFailure(key)
	}
	if err := p.storeSSOToken(key, s, t, false); err != nil {
		return nil, err
	}
	return t, nil
}

// refreshRefused reports an OIDC error that means the refresh token (or its
// client) is no good any more, so only a new sign-in helps.
func refreshRefused(err error) bool {
	switch apiCode(err) {
	case "InvalidGrantException", "ExpiredTokenException", "InvalidClientException", "UnauthorizedClientException", "AccessDeniedException", "InvalidRequestException":
		return true
	}
	return false
}

func (p *Provider) refreshSSOToken(ctx context.Context, oidc *ssooidc.Client, s *config.SSOSettings, old *keychain.SSOToken) (*keychain.SSOToken, error) {
	issued := p.now()
	out, err := oidc.CreateToken(ctx, &ssooidc.CreateTokenInput{
		ClientId: aws.String(old.ClientID), ClientSecret: aws.String(old.ClientSecret),
		GrantType: aws.String("refresh_token"), RefreshToken: aws.String(old.RefreshToken),
	})
	if err != nil {
		return nil, err
	}
	t := *old
	t.Name, t.StartURL, t.Region = s.TokenName(), s.StartURL, s.Region
	t.AccessToken = aws.ToString(out.AccessToken)
	t.IssuedAt, t.ExpiresAt = issued, issued.Add(time.Duration(out.ExpiresIn)*time.Second)
	if r := aws.ToString(out.RefreshToken); r != "" {
		t.RefreshToken = r // rotated: the old one is used up
	}
	if t.AccessToken == "" {
		return nil, errors.New("IAM Identity Center returned no access token")
	}
	return &t, nil
}

// storeSSOToken keeps t in the keyring and, when the sign-in shares its
// cache with the AWS CLI (or the token was the CLI's to begin with, whose
// refresh token may just have rotated), in the AWS CLI's cache too.
func (p *Provider) storeSSOToken(key string, s *config.SSOSettings, t *keychain.SSOToken, fromCLI bool) error {
	if p.SSOTokens != nil {
		if err := p.SSOTokens.Put(key, t); err != nil {
			if t.RefreshToken != "" && !fromCLI && !s.ShareCache {
				// The refresh token may have rotated: unstored, the next
				// run signs in again. Say so, but this run can go on.
				p.warnf("could not keep the IAM Identity Center sign-in to %s in the keyring, so the next run signs in again: %v", s.StartURL, err)
			} else {
				p.debugf("%v", err)
			}
		}
	}
	if s.ShareCache || fromCLI {
		if err := p.writeCLICachedToken(s, t); err != nil {
			p.warnf("could not write the IAM Identity Center token to the AWS CLI's cache: %v", err)
		}
	}
	return nil
}

// SSOStatus is what explain says about a sign-in, from the non-secret index
// and the AWS CLI's cache file, without reading the keyring.
type SSOStatus struct {
	Key         string
	Source      string    // where the access token would come from; "" when none is valid
	ExpiresAt   time.Time // of that token (zero when none)
	Refreshable bool      // a refresh token is kept, so an expired token is renewed without a browser
	SignIn      bool      // a sign-in (browser tab or device code) would be needed now
	Flow        SSOFlow
	FlowWhy     string
}

// SSOStatusOf describes the sign-in of s at now.
func SSOStatusOf(store *keychain.SSOTokenStore, opts *SSOOptions, s *config.SSOSettings, now time.Time) SSOStatus {
	st := SSOStatus{Key: plan.SSOTokenKey(s.TokenName(), s.StartURL, s.Region)}
	st.Flow, st.FlowWhy = opts.ChooseFlow()
	if store != nil {
		if idx, ok, _ := store.State(st.Key); ok {
			st.Refreshable = idx.Refreshable && idx.ClientSecretExpiresAt.After(now)
			if idx.ExpiresAt.After(now) {
				st.Source, st.ExpiresAt = "rolevault's keyring item", idx.ExpiresAt
			}
		}
	}
	p := &Provider{SSO: *opts}
	if t, path := p.cliCachedToken(s); t != nil {
		if st.Source == "" && t.ExpiresAt.After(now) {
			st.Source, st.ExpiresAt = "the AWS CLI's cache "+path, t.ExpiresAt
		}
		st.Refreshable = st.Refreshable || (t.RefreshToken != "" && t.RegistrationValid(now))
	}
	st.SignIn = st.Source == "" && !st.Refreshable
	return st
}

// scopesEqual compares registration scopes as sets.
func scopesEqual(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
