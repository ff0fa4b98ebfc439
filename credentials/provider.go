package credentials

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/plan"
)

// LongTermKeys reads the long-term access keys stored for a profile.
type LongTermKeys interface {
	Get(profile string) (aws.Credentials, error)
}

// MFARequest asks for one MFA code. Attempt counts from 1; after STS rejects
// a code the provider asks again with Attempt+1 and Rejected set. After a
// call whose reply was lost it asks again with Lost set instead: AWS may have
// used the last code, so only the next one will do. A prompt that cannot
// give a different code returns ErrNoRetry for either.
type MFARequest struct {
	Serial   string
	Process  string // the profile's mfa_process, if any
	Attempt  int
	Rejected error
	Lost     error
}

// MFAPrompt returns an MFA code. vault knows prompts only as this function;
// the cli package builds it from the prompt package.
type MFAPrompt func(ctx context.Context, req MFARequest) (string, error)

// ErrNoRetry is returned by an MFAPrompt that cannot ask again after a
// rejected code (a fixed --mfa-token, an mfa_process, a hardware key), so the
// provider reports STS's rejection instead.
var ErrNoRetry = errors.New("MFA source cannot be asked again")

// maxMFAAttempts is how often a person at a terminal may type a code.
const maxMFAAttempts = 3

// Provider turns a Plan into credentials: it serves the newest usable session
// from the cache and runs only the steps after it, each under its cache key's
// cross-process lock, so concurrent callers share one MFA prompt and one STS
// call per session.
type Provider struct {
	Keys  LongTermKeys
	Cache *keychain.SessionCache
	Locks *keychain.Locks
	MFA   MFAPrompt
	// SSOTokens keeps IAM Identity Center sign-ins; SSO says how to sign
	// a person in (flow, browser, timeout, where to tell them).
	SSOTokens *keychain.SSOTokenStore
	SSO       SSOOptions
	// HTTPClient is used for every AWS call; nil means NewHTTPClient,
	// built on first use so a run served from the cache never reads
	// AWS_CA_BUNDLE.
	HTTPClient aws.HTTPClient
	httpOnce   sync.Once
	Now        func() time.Time
	LookupEnv  func(string) (string, bool)
	Debugf     func(format string, args ...any)
	// Warnf tells the person something went wrong that did not stop the
	// command (a refresh failed but the cached session still works).
	Warnf     func(format string, args ...any)
	warnedFor string // the access key of the last session warned about
}

func (p *Provider) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Provider) debugf(format string, args ...any) {
	if p.Debugf != nil {
		p.Debugf(format, args...)
	}
}

func (p *Provider) lookupEnv(k string) (string, bool) {
	if p.LookupEnv != nil {
		return p.LookupEnv(k)
	}
	return os.LookupEnv(k)
}

func minTTL(pl *plan.Plan) time.Duration {
	if pl.MinTTL > 0 {
		return pl.MinTTL
	}
	return config.DefaultMinTTL
}

// Retrieve returns the credentials at the end of plan.
func (p *Provider) Retrieve(ctx context.Context, pl *plan.Plan) (aws.Credentials, error) {
	if len(pl.Steps) == 0 {
		return aws.Credentials{}, fmt.Errorf("profile %q: empty plan", pl.Profile.Name)
	}
	creds, lastResort, err := p.retrieve(ctx, pl, true)
	var stale *staleSessionError
	var miss *indexMissError
	switch {
	case errors.As(err, &stale):
		// AWS refused a session we believed valid (revoked, or clocks
		// disagree): forget it and rebuild the chain once.
		p.debugf("STS refused cached session %s (%v); fetching a new one", stale.key, stale.err)
		_ = p.Cache.Remove(stale.key)
		creds, _, err = p.retrieve(ctx, pl, false)
	case errors.As(err, &miss):
		// The index listed a source session the keyring did not give
		// back (removed by another tool, or sealed with another file
		// passphrase): go again, reading the cache itself.
		p.debugf("cached session %s is listed in the index but could not be read; reading the cache again without the index", miss.key)
		creds, _, err = p.retrieve(ctx, pl, false)
	}
	if err != nil && lastResort != nil && ctx.Err() == nil && lastResort.Expiration.After(p.now()) {
		// The refresh failed (STS unreachable, no way to ask for a code,
		// …) but the session it was to replace still works: hand that out
		// rather than fail a command that would have succeeded.
		// Once per session: a credential server asks again every few seconds.
		if p.warnedFor != lastResort.AccessKeyID {
			p.warnedFor = lastResort.AccessKeyID
			p.warnf("could not refresh the %s session for %s, so using the cached one, which expires in %s: %v",
				lastResort.Kind, lastResort.Profile, lastResort.Expiration.Sub(p.now()).Round(time.Second), err)
		}
		return sessionCredentials(lastResort), nil
	}
	return creds, err
}

func (p *Provider) warnf(format string, args ...any) {
	if p.Warnf != nil {
		p.Warnf(format, args...)
	}
}

type staleSessionError struct {
	key string
	err error
}

func (e *staleSessionError) Error() string { return e.err.Error() }
func (e *staleSessionError) Unwrap() error { return e.err }

// retrieve runs the plan from its newest usable cached session. lastResort is
// the final step's cached session when it is still valid but due for
// refresh: what Retrieve falls back to if the refresh fails.
//
// With trustIndex, a source session is judged by the cache index and read
// only when needed (lazySession); without, every session is read.
func (p *Provider) retrieve(ctx context.Context, pl *plan.Plan, trustIndex bool) (creds aws.Credentials, lastResort *keychain.Session, err error) {
	ttl := minTTL(pl)
	now := p.now()

	// Newest usable cached session first: a warm run is one keyring Get.
	start := 0
	var cur aws.Credentials
	var curKey string
	var readSrc func() (aws.Credentials, error)
	for i := len(pl.Steps) - 1; i >= 0; i-- {
		key := pl.Steps[i].CacheKey
		if key == "" || p.Cache == nil {
			continue
		}
		if trustIndex && i < len(pl.Steps)-1 && p.Locks != nil {
			// A source session (the MFA session under a role, say) is
			// judged by its non-secret index and decrypted only by the
			// process that calls the next step's STS: the ones that wait
			// for that process and read what it cached never decrypt a
			// session they would not use (make bench's 8 concurrent cold
			// callers did, each, while the AssumeRole was under way).
			if p.indexSaysUsable(key, now, ttl) {
				readSrc, curKey, start = p.lazySession(pl.Steps[i], ttl), key, i+1
				break
			}
		}
		s, err := p.Cache.Get(key)
		if err != nil {
			return aws.Credentials{}, nil, err
		}
		if i == len(pl.Steps)-1 && s != nil && s.Expiration.After(now) {
			lastResort = s
		}
		if s.Usable(now, ttl) {
			p.debugf("using cached %s session for %s (expires %s)", pl.Steps[i].Kind, pl.Steps[i].Profile, s.Expiration.Format(time.RFC3339))
			cur, curKey, start = sessionCredentials(s), key, i+1
			break
		}
	}

	for i := start; i < len(pl.Steps); i++ {
		step := pl.Steps[i]
		if i == 0 && step.CacheKey == "" {
			if len(pl.Steps) > 1 && pl.Steps[1].CacheKey != "" && p.Cache != nil && p.Locks != nil {
				// The long-term key is read under the next step's lock,
				// and only by the process that calls STS: the ones that
				// waited for it and read the session it cached never
				// decrypt a key they would not use (make bench's 8
				// concurrent cold callers spent 7 of those reads while
				// the caller of STS was starting).
				readSrc = func() (aws.Credentials, error) { return p.keySource(ctx, pl, step) }
				curKey = ""
				continue
			}
			var err error
			cur, err = p.keySource(ctx, pl, step)
			if err != nil {
				return aws.Credentials{}, lastResort, err
			}
			curKey = ""
			continue
		}
		next, nextRead, err := p.runCached(ctx, pl, step, cur, curKey, readSrc, trustIndex && i < len(pl.Steps)-1)
		if err != nil {
			return aws.Credentials{}, lastResort, err
		}
		cur, curKey, readSrc = next, step.CacheKey, nextRead
	}
	return cur, nil, nil
}

// runCached runs one STS step under its cache key's lock. With the lock it
// reads the cache again: whoever held the lock may have just fetched this
// very session. readSrc, when set, reads src first, once this process is
// the one to call STS.
//
// A source step (source: not the last) that another process fetched while
// this one waited is judged by the cache index and handed on as a reader
// (nextRead), decrypted only if this process is the one to call the next
// step's STS.
func (p *Provider) runCached(ctx context.Context, pl *plan.Plan, step plan.Step, src aws.Credentials, srcKey string, readSrc func() (aws.Credentials, error), source bool) (creds aws.Credentials, nextRead func() (aws.Credentials, error), err error) {
	if step.CacheKey == "" || p.Cache == nil {
		if readSrc != nil {
			if src, err = readSrc(); err != nil {
				return aws.Credentials{}, nil, err
			}
		}
		creds, err = p.call(ctx, pl, step, src, srcKey)
		return creds, nil, err
	}
	doing := fmt.Sprintf("calling %s for profile %s", step.Kind, step.Profile)
	if step.MFASerial != "" {
		doing = "asking for your MFA code for " + step.MFASerial
	}
	if step.Kind == plan.StepSSO && step.SSO != nil {
		// The holder may only be calling GetRoleCredentials with a good
		// token, or it may be signing the person in first: say both.
		doing = fmt.Sprintf("getting role %s in account %s from IAM Identity Center (signing you in to %s if needed)", step.SSO.RoleName, step.SSO.AccountID, step.SSO.StartURL)
	}
	if p.Locks != nil {
		// The cache is read again under the lock (shared, alongside the
		// other waiters, when another process held it).
		var cached *keychain.Session
		release, done, err := p.Locks.AcquireUnlessFresh(ctx, step.CacheKey, doing, func() (bool, error) {
			if source && p.indexSaysUsable(step.CacheKey, p.now(), minTTL(pl)) {
				return true, nil // read later, and only if needed
			}
			s, err := p.Cache.Get(step.CacheKey)
			if err != nil || !s.Usable(p.now(), minTTL(pl)) {
				return false, err
			}
			cached = s
			return true, nil
		})
		if err != nil {
			return aws.Credentials{}, nil, err
		}
		defer release()
		if done {
			p.debugf("another process fetched the %s session for %s; using it", step.Kind, step.Profile)
			if cached == nil {
				return aws.Credentials{}, p.lazySession(step, minTTL(pl)), nil
			}
			return sessionCredentials(cached), nil, nil
		}
	}
	if readSrc != nil {
		if src, err = readSrc(); err != nil {
			return aws.Credentials{}, nil, err
		}
	}
	creds, err = p.call(ctx, pl, step, src, srcKey)
	if err != nil || !creds.CanExpire {
		// Keys that never expire are not sessions; they stay where they came from.
		return creds, nil, err
	}
	err = p.Cache.Put(step.CacheKey, &keychain.Session{
		Kind: step.Kind, Profile: step.Profile,
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey,
		SessionToken: creds.SessionToken, Expiration: creds.Expires,
	})
	if err != nil {
		// The credentials are good; failing to cache them only costs a
		// later call, so say so and go on.
		p.debugf("could not cache the %s session for %s: %v", step.Kind, step.Profile, err)
	}
	return creds, nil, nil
}

// indexMissError is a source session the index listed and the keyring did
// not give back.
type indexMissError struct{ key string }

func (e *indexMissError) Error() string {
	return "the cached session " + e.key + " is listed in the index but could not be read"
}

// indexSaysUsable reports whether the cache index lists the session key as
// usable at now, without reading (decrypting) it.
func (p *Provider) indexSaysUsable(key string, now time.Time, ttl time.Duration) bool {
	exp, ok, _ := p.Cache.Expiry(key)
	return ok && exp.Sub(now) > ttl
}

// lazySession reads a cached source session when the next step needs it. An
// index that listed a session the keyring does not give back is an
// indexMissError: Retrieve goes again without the index, and nothing is
// removed (the item may only be sealed with another file passphrase).
func (p *Provider) lazySession(step plan.Step, ttl time.Duration) func() (aws.Credentials, error) {
	return func() (aws.Credentials, error) {
		s, err := p.Cache.Get(step.CacheKey)
		if err != nil {
			return aws.Credentials{}, err
		}
		if !s.Usable(p.now(), ttl) {
			return aws.Credentials{}, &indexMissError{key: step.CacheKey}
		}
		p.debugf("using cached %s session for %s (expires %s)", step.Kind, step.Profile, s.Expiration.Format(time.RFC3339))
		return sessionCredentials(s), nil
	}
}

func sessionCredentials(s *keychain.Session) aws.Credentials {
	return aws.Credentials{
		AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey, SessionToken: s.SessionToken,
		CanExpire: true, Expires: s.Expiration, Source: "rolevault cache",
	}
}

// call performs one STS step with src's credentials.
func (p *Provider) call(ctx context.Context, pl *plan.Plan, step plan.Step, src aws.Credentials, srcKey string) (aws.Credentials, error) {
	switch step.Kind {
	case plan.StepGetSessionToken:
		return p.getSessionToken(ctx, pl, step, src, srcKey)
	case plan.StepAssumeRole:
		return p.assumeRole(ctx, pl, step, src, srcKey)
	case plan.StepGetFederationToken:
		return p.getFederationToken(ctx, pl, step, src, srcKey)
	case plan.StepCredentialProcess, plan.StepWebIdentity, plan.StepSSO:
		return p.keySource(ctx, pl, step)
	}
	return aws.Credentials{}, fmt.Errorf("profile %q: unknown step %q", step.Profile, step.Kind)
}

// mfaCall is what one STS call of a step sends for MFA: the serial and the
// code (both nil when the step needs none) and the per-call options, which
// carry noResend whenever a code is sent. withMFA builds it, so no call that
// carries a code can forget that rule.
type mfaCall struct {
	Serial, Code *string
	Options      []func(*sts.Options)
}

// withMFA runs fn with an MFA code for the step's serial (or with no code when
// the step needs none), asking again, up to maxMFAAttempts, when STS rejects
// the code and the prompt can re-ask. fn returns STS's error unexplained so
// a rejection can be recognised; a code is sent at most once (noResend).
// When a call may have used its code without an answer coming back, the
// prompt is asked once for the next code; a prompt that cannot give one ends
// it with an error that says the code may be used up, not that it was wrong.
func (p *Provider) withMFA(ctx context.Context, step plan.Step, fn func(mfaCall) error) error {
	if step.MFASerial == "" {
		return fn(mfaCall{})
	}
	if p.MFA == nil {
		return &ProviderError{Err: fmt.Errorf("profile %q needs an MFA code for %s and no way to ask for one is set up", step.Profile, step.MFASerial),
			HintLine: "pass --mfa-token, set mfa_process in the profile, or run from a terminal"}
	}
	req := MFARequest{Serial: step.MFASerial, Process: step.MFAProcess, Attempt: 1}
	lostCode := "" // the code of a call whose reply was lost
	for {
		code, err := p.MFA(ctx, req)
		if err != nil {
			if errors.Is(err, ErrNoRetry) && req.Lost != nil {
				return req.Lost
			}
			if errors.Is(err, ErrNoRetry) && req.Rejected != nil {
				return req.Rejected
			}
			if ctx.Err() != nil {
				if isInterruption(err) {
					return err
				}
				return ctx.Err()
			}
			return promptError(step, err)
		}
		if lostCode != "" && code == lostCode {
			// The code the lost call carried: AWS would refuse it as
			// used, so do not spend a call on it.
			if req.Attempt >= maxMFAAttempts {
				return req.Lost
			}
			req.Attempt++
			continue
		}
		err = fn(mfaCall{Serial: aws.String(step.MFASerial), Code: aws.String(code), Options: []func(*sts.Options){noResend}})
		switch {
		case err == nil:
			return nil
		case isMFARejection(err):
			if req.Lost != nil {
				err = &mfaCodeUsedError{err}
			}
			req.Rejected, req.Lost = err, nil
		case ctx.Err() == nil && codeMayBeUsed(err):
			// Asked for the next code once; a second loss ends it.
			err = &mfaCodeLostError{err}
			if lostCode != "" {
				return err
			}
			lostCode = code
			req.Rejected, req.Lost = nil, err
		default:
			return err
		}
		if req.Attempt >= maxMFAAttempts {
			return err
		}
		req.Attempt++
	}
}

// mask shows enough of a key id to recognise it in --debug output.
func mask(s string) string {
	if len(s) <= 8 {
		return "****"
	}
	return s[:4] + "****" + s[len(s)-4:]
}

// promptError phrases a failure to get an MFA code, keeping the prompt's own
// advice when it has some.
func promptError(step plan.Step, err error) error {
	hint := "pass --mfa-token, set mfa_process in the profile, or run from a terminal"
	var h interface{ Hint() string }
	if errors.As(err, &h) && h.Hint() != "" {
		hint = h.Hint()
	}
	return &ProviderError{Err: fmt.Errorf("%s for profile %q: %w", step.Kind, step.Profile, err), HintLine: hint}
}
