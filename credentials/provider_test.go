package credentials

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/internal/ststest"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/plan"
)

// world is an emulator with the seeds' layout: alice in the login account
// with an MFA device, a dev role that trusts the account, a prod role that
// also requires MFA.
type world struct {
	t         *testing.T
	sts       *ststest.Server
	url       string
	serial    string
	totp      string
	kr        keyring.Keyring
	cacheDir  string
	mfaAsked  atomic.Int32
	aliceKey  aws.Credentials
	mfaSource func(ctx context.Context, req MFARequest) (string, error)
}

const (
	devRole  = "arn:aws:iam::222222222222:role/developer"
	prodRole = "arn:aws:iam::444444444444:role/administrator"
)

func newWorld(t *testing.T) *world {
	t.Helper()
	s := ststest.New()
	url := s.Start()
	t.Cleanup(s.Close)
	id, secret := s.AddUser("111111111111", "alice")
	serial, totp := s.AddMFADevice("111111111111", "alice")
	must(t, s.AddRole(devRole, ststest.RoleOptions{Trust: []string{"arn:aws:iam::111111111111:root"}}))
	must(t, s.AddRole(prodRole, ststest.RoleOptions{Trust: []string{"arn:aws:iam::111111111111:root"}, RequireMFA: true, MaxSessionDuration: 4 * time.Hour}))
	kr, err := keyring.Open(keyring.Config{
		ServiceName: keychain.ServiceName, AllowedBackends: []keyring.BackendType{keyring.FileBackend},
		FileDir: t.TempDir(), FilePasswordFunc: keyring.FixedStringPrompt("test"),
	})
	must(t, err)
	w := &world{t: t, sts: s, url: url, serial: serial, totp: totp, kr: kr, cacheDir: t.TempDir(),
		aliceKey: aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}}
	must(t, (&keychain.KeyStore{Keyring: kr}).Set("login", w.aliceKey))
	w.mfaSource = func(ctx context.Context, req MFARequest) (string, error) {
		w.mfaAsked.Add(1)
		return ststest.TOTP(w.totp, s.Now()), nil
	}
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (w *world) provider() *Provider {
	hc, err := NewHTTPClient(func(string) (string, bool) { return "", false })
	must(w.t, err)
	return &Provider{
		Keys:       &keychain.KeyStore{Keyring: w.kr},
		Cache:      &keychain.SessionCache{Keyring: w.kr, IndexDir: w.cacheDir},
		Locks:      &keychain.Locks{Dir: w.cacheDir},
		MFA:        func(ctx context.Context, req MFARequest) (string, error) { return w.mfaSource(ctx, req) },
		HTTPClient: hc,
		LookupEnv:  func(string) (string, bool) { return "", false },
	}
}

// rolePlan is the plan for a role profile sourced from login with MFA on the
// shared GetSessionToken, written out as data so these tests do not depend on
// the plan builder.
func (w *world) rolePlan(profile, role string) *plan.Plan {
	gst := plan.SessionKey(plan.StepGetSessionToken, "login", w.serial, "8h", "stored-keys:login")
	return &plan.Plan{
		Profile:     &config.Profile{Name: profile},
		EndpointURL: w.url,
		Region:      "us-east-1",
		Steps: []plan.Step{
			{Kind: plan.StepStoredKeys, Profile: "login"},
			{Kind: plan.StepGetSessionToken, Profile: "login", MFASerial: w.serial, Duration: 8 * time.Hour, CacheKey: gst},
			{Kind: plan.StepAssumeRole, Profile: profile, RoleARN: role, RoleSessionName: "alice", Duration: time.Hour,
				CacheKey: plan.SessionKey(plan.StepAssumeRole, profile, role, "alice", "1h", gst)},
		},
	}
}

func (w *world) callerARN(c aws.Credentials) string {
	s, ok := w.sts.Session(c.AccessKeyID)
	if !ok {
		w.t.Fatalf("emulator did not issue %s", c.AccessKeyID)
	}
	return s.Arn
}

func TestProviderRoleChainThenCache(t *testing.T) {
	w := newWorld(t)
	p := w.provider()
	creds, err := p.Retrieve(context.Background(), w.rolePlan("prod", prodRole))
	must(t, err)
	if got := w.callerARN(creds); got != "arn:aws:sts::444444444444:assumed-role/administrator/alice" {
		t.Fatalf("caller = %s", got)
	}
	if w.sts.Calls("GetSessionToken") != 1 || w.sts.Calls("AssumeRole") != 1 || w.mfaAsked.Load() != 1 {
		t.Fatalf("cold run: GST=%d AR=%d MFA prompts=%d, want 1 each", w.sts.Calls("GetSessionToken"), w.sts.Calls("AssumeRole"), w.mfaAsked.Load())
	}
	w.sts.ResetCounters()
	again, err := w.provider().Retrieve(context.Background(), w.rolePlan("prod", prodRole))
	must(t, err)
	if again.AccessKeyID != creds.AccessKeyID || len(w.sts.History()) != 0 || w.mfaAsked.Load() != 1 {
		t.Fatalf("warm run made %d STS calls and %d prompts; want the cached session and none", len(w.sts.History()), w.mfaAsked.Load()-1)
	}
}

func TestProviderSharesOneMFASessionAcrossRoles(t *testing.T) {
	w := newWorld(t)
	for _, pr := range [][2]string{{"dev", devRole}, {"prod", prodRole}} {
		if _, err := w.provider().Retrieve(context.Background(), w.rolePlan(pr[0], pr[1])); err != nil {
			t.Fatalf("%s: %v", pr[0], err)
		}
	}
	if w.sts.Calls("GetSessionToken") != 1 || w.mfaAsked.Load() != 1 || w.sts.Calls("AssumeRole") != 2 {
		t.Fatalf("GST=%d prompts=%d AR=%d; want one MFA session shared by two roles",
			w.sts.Calls("GetSessionToken"), w.mfaAsked.Load(), w.sts.Calls("AssumeRole"))
	}
}

func TestProviderSingleFlightAcrossCallers(t *testing.T) {
	w := newWorld(t)
	inner := w.mfaSource
	w.mfaSource = func(ctx context.Context, req MFARequest) (string, error) {
		time.Sleep(100 * time.Millisecond) // a person finding their phone
		return inner(ctx, req)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	keys := make([]string, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := w.provider().Retrieve(context.Background(), w.rolePlan("prod", prodRole))
			errs[i], keys[i] = err, c.AccessKeyID
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		if keys[i] != keys[0] {
			t.Fatalf("callers got different role sessions")
		}
	}
	if w.mfaAsked.Load() != 1 || w.sts.Calls("GetSessionToken") != 1 || w.sts.Calls("AssumeRole") != 1 {
		t.Fatalf("8 callers: prompts=%d GST=%d AR=%d, want 1/1/1", w.mfaAsked.Load(), w.sts.Calls("GetSessionToken"), w.sts.Calls("AssumeRole"))
	}
}

func TestProviderAsksAgainAfterRejectedCode(t *testing.T) {
	w := newWorld(t)
	var attempts []int
	w.mfaSource = func(ctx context.Context, req MFARequest) (string, error) {
		attempts = append(attempts, req.Attempt)
		if req.Attempt == 1 {
			return "000000", nil
		}
		if req.Rejected == nil {
			t.Error("second ask does not say why")
		}
		return ststest.TOTP(w.totp, w.sts.Now()), nil
	}
	_, err := w.provider().Retrieve(context.Background(), w.rolePlan("prod", prodRole))
	must(t, err)
	if fmt.Sprint(attempts) != "[1 2]" {
		t.Fatalf("attempts = %v, want [1 2]", attempts)
	}
}

func TestProviderGivesUpAfterThreeRejectedCodes(t *testing.T) {
	w := newWorld(t)
	n := 0
	w.mfaSource = func(ctx context.Context, req MFARequest) (string, error) { n++; return "000000", nil }
	_, err := w.provider().Retrieve(context.Background(), w.rolePlan("prod", prodRole))
	if err == nil || !strings.Contains(err.Error(), "MFA code for "+w.serial+" was rejected") || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("err = %v", err)
	}
	if n != 3 {
		t.Fatalf("asked %d times, want 3", n)
	}
}

func TestProviderNoRetryForFixedSources(t *testing.T) {
	w := newWorld(t)
	n := 0
	w.mfaSource = func(ctx context.Context, req MFARequest) (string, error) {
		n++
		if req.Attempt > 1 {
			return "", ErrNoRetry
		}
		return "000000", nil
	}
	_, err := w.provider().Retrieve(context.Background(), w.rolePlan("prod", prodRole))
	if err == nil || !strings.Contains(err.Error(), "rejected") {
		t.Fatalf("err = %v", err)
	}
	if n != 2 {
		t.Fatalf("prompt called %d times, want 2 (the second answering ErrNoRetry)", n)
	}
}

func TestProviderErrorsPeopleHit(t *testing.T) {
	cases := []struct {
		name  string
		setup func(w *world, pl *plan.Plan)
		want  []string
		hint  string
	}{
		{"assume role denied", func(w *world, pl *plan.Plan) {
			pl.Steps[2].RoleARN = "arn:aws:iam::444444444444:role/nobody-trusts-you"
		}, []string{"AccessDenied", "arn:aws:iam::444444444444:role/nobody-trusts-you", "arn:aws:iam::111111111111:user/alice"}, "trust policy"},
		{"invalid key", func(w *world, pl *plan.Plan) {
			w.sts.DeleteAccessKey(w.aliceKey.AccessKeyID)
		}, []string{"InvalidClientTokenId", "AKIA"}, "rolevault add login"},
		{"wrong secret", func(w *world, pl *plan.Plan) {
			must(w.t, (&keychain.KeyStore{Keyring: w.kr}).Set("login", aws.Credentials{AccessKeyID: w.aliceKey.AccessKeyID, SecretAccessKey: "wrong"}))
		}, []string{"SignatureDoesNotMatch"}, "rolevault add login"},
		{"unreachable", func(w *world, pl *plan.Plan) {
			pl.EndpointURL = "http://127.0.0.1:9"
		}, []string{"cannot reach http://127.0.0.1:9"}, "network"},
		{"role chaining over an hour", func(w *world, pl *plan.Plan) {
			pl.Steps[2].Duration = 2 * time.Hour
		}, []string{"ValidationError", "1 hour"}, "--duration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			pl := w.rolePlan("prod", prodRole)
			tc.setup(w, pl)
			_, err := w.provider().Retrieve(context.Background(), pl)
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			var pe *ProviderError
			if !errors.As(err, &pe) || !strings.Contains(pe.Hint(), tc.hint) {
				t.Errorf("hint %q lacks %q", pe.Hint(), tc.hint)
			}
		})
	}
}

func TestProviderAccessDeniedNamesBothPolicies(t *testing.T) {
	w := newWorld(t)
	pl := w.rolePlan("prod", prodRole)
	pl.Steps[2].RoleARN = "arn:aws:iam::444444444444:role/other"
	_, err := w.provider().Retrieve(context.Background(), pl)
	var pe *ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v", err)
	}
	for _, s := range []string{"trust policy of arn:aws:iam::444444444444:role/other", "sts:AssumeRole on arn:aws:iam::444444444444:role/other"} {
		if !strings.Contains(pe.Hint(), s) {
			t.Errorf("hint %q lacks %q", pe.Hint(), s)
		}
	}
}

func TestProviderRebuildsWhenCachedSessionIsRefused(t *testing.T) {
	w := newWorld(t)
	must(t, func() error {
		_, err := w.provider().Retrieve(context.Background(), w.rolePlan("dev", devRole))
		return err
	}())
	// AWS's clock says the cached 8h MFA session is over while ours says it
	// is not: the next role must not fail, it must fetch a new MFA session.
	w.sts.SetNow(func() time.Time { return time.Now().Add(9 * time.Hour) })
	_, err := w.provider().Retrieve(context.Background(), w.rolePlan("prod", prodRole))
	must(t, err)
	if w.sts.Calls("GetSessionToken") != 2 {
		t.Fatalf("GetSessionToken calls = %d, want 2 (one refetch)", w.sts.Calls("GetSessionToken"))
	}
}

func TestProviderDropsCorruptCacheItem(t *testing.T) {
	w := newWorld(t)
	pl := w.rolePlan("dev", devRole)
	must(t, w.kr.Set(keyring.Item{Key: pl.Steps[2].CacheKey, Data: []byte("garbage")}))
	_, err := w.provider().Retrieve(context.Background(), pl)
	must(t, err)
	if w.sts.Calls("AssumeRole") != 1 {
		t.Fatalf("AssumeRole calls = %d, want 1", w.sts.Calls("AssumeRole"))
	}
}

func TestFederationName(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:iam::111111111111:user/alice":                                   "alice",
		"arn:aws:iam::111111111111:user/team/a-very-long-user-name-that-exceeds": "a-very-long-user-name-that-excee",
		"arn:aws:iam::111111111111:user/x":                                       "rolevault",
	} {
		if got := FederationName(in); got != want {
			t.Errorf("FederationName(%s) = %q, want %q", in, got, want)
		}
	}
}

// The HTTP client (and AWS_CA_BUNDLE with it) is only built when a call to
// AWS is needed: a bad bundle fails the cold path clearly and leaves the
// warm path alone.
func TestProviderBuildsHTTPClientOnlyWhenCalling(t *testing.T) {
	w := newWorld(t)
	badBundle := func(k string) (string, bool) {
		if k == "AWS_CA_BUNDLE" {
			return "/nonexistent/ca.pem", true
		}
		return "", false
	}
	p := w.provider()
	p.HTTPClient, p.LookupEnv = nil, badBundle
	_, err := p.Retrieve(context.Background(), w.rolePlan("dev", devRole))
	var pe *ProviderError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "AWS_CA_BUNDLE /nonexistent/ca.pem") || strings.Contains(err.Error(), "operation error") {
		t.Fatalf("err = %v", err)
	}
	must(t, func() error {
		_, err := w.provider().Retrieve(context.Background(), w.rolePlan("dev", devRole))
		return err
	}())
	p = w.provider()
	p.HTTPClient, p.LookupEnv = nil, badBundle
	if _, err := p.Retrieve(context.Background(), w.rolePlan("dev", devRole)); err != nil {
		t.Fatalf("warm run read AWS_CA_BUNDLE: %v", err)
	}
}

// Nothing is lost: a refresh that fails leaves the stored key and the cached
// session alone, and while that session is still valid it is handed out,
// with a warning, instead of failing the command.
func TestProviderFailedRefreshKeepsTheLastGoodSession(t *testing.T) {
	w := newWorld(t)
	first, err := w.provider().Retrieve(context.Background(), w.rolePlan("dev", devRole))
	must(t, err)

	// 50 minutes later the 1h role session is inside the refresh window,
	// and STS is down.
	later := func() time.Time { return time.Now().Add(50 * time.Minute) }
	w.sts.FailNext("AssumeRole", "ServiceUnavailable", "Service is unavailable", 10)
	p := w.provider()
	p.Now = later
	var warned string
	p.Warnf = func(f string, a ...any) { warned = fmt.Sprintf(f, a...) }
	got, err := p.Retrieve(context.Background(), w.rolePlan("dev", devRole))
	if err != nil {
		t.Fatalf("refresh failure with a valid cached session: %v", err)
	}
	if got.AccessKeyID != first.AccessKeyID || !strings.Contains(warned, "could not refresh") || !strings.Contains(warned, "ServiceUnavailable") {
		t.Fatalf("got %s, warning %q; want the cached session and a warning naming the failure", got.AccessKeyID, warned)
	}
	if _, err := (&keychain.KeyStore{Keyring: w.kr}).Get("login"); err != nil {
		t.Fatalf("stored key lost: %v", err)
	}

	// Once the cached session has expired, the failure is reported.
	p = w.provider()
	p.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if _, err := p.Retrieve(context.Background(), w.rolePlan("dev", devRole)); err == nil {
		t.Fatal("an expired session was handed out")
	}
}

type countingKeys struct {
	LongTermKeys
	reads atomic.Int32
}

func (k *countingKeys) Get(profile string) (aws.Credentials, error) {
	k.reads.Add(1)
	return k.LongTermKeys.Get(profile)
}

// TestProviderWaiterReadsNoKey: a process that waits for another one's MFA
// session and then finds it cached never reads (decrypts) the long-term key
// it would have signed GetSessionToken with; it used to read it before
// waiting.
func TestProviderWaiterReadsNoKey(t *testing.T) {
	w := newWorld(t)
	pl := w.rolePlan("prod", prodRole)
	gst := pl.Steps[1].CacheKey
	release, err := (&keychain.Locks{Dir: w.cacheDir}).Acquire(context.Background(), gst, "asking for your MFA code")
	must(t, err)

	waiter := w.provider()
	keys := &countingKeys{LongTermKeys: waiter.Keys}
	waiter.Keys = keys
	waiting := make(chan struct{})
	waiter.Locks.Waiting = func(string) { close(waiting) }
	done := make(chan error, 1)
	go func() { _, err := waiter.Retrieve(context.Background(), pl); done <- err }()
	<-waiting

	// The holder fetches and caches the MFA session, then lets go.
	holder := w.provider()
	holder.Locks = nil
	_, err = holder.Retrieve(context.Background(), &plan.Plan{Profile: pl.Profile, EndpointURL: pl.EndpointURL, Region: pl.Region, Steps: pl.Steps[:2]})
	must(t, err)
	release()

	must(t, <-done)
	if n := keys.reads.Load(); n != 0 {
		t.Errorf("the waiter read the long-term key %d times; it used the cached MFA session, so want 0", n)
	}
	if w.sts.Calls("GetSessionToken") != 1 || w.mfaAsked.Load() != 1 || w.sts.Calls("AssumeRole") != 1 {
		t.Errorf("GST=%d prompts=%d AR=%d; want 1 each", w.sts.Calls("GetSessionToken"), w.mfaAsked.Load(), w.sts.Calls("AssumeRole"))
	}
}

// countingRing counts keyring Gets of one item.
type countingRing struct {
	keyring.Keyring
	key   string
	reads atomic.Int32
}

func (r *countingRing) Get(key string) (keyring.Item, error) {
	if key == r.key {
		r.reads.Add(1)
	}
	return r.Keyring.Get(key)
}

// TestProviderWaiterReadsNoSourceSession: a process that waits while
// another one calls AssumeRole, and then finds the role session it cached,
// never decrypts the MFA session under it: the index said it was usable,
// and only the caller of STS needs its secret.
func TestProviderWaiterReadsNoSourceSession(t *testing.T) {
	w := newWorld(t)
	pl := w.rolePlan("prod", prodRole)
	gst, role := pl.Steps[1].CacheKey, pl.Steps[2].CacheKey
	// The MFA session is cached already.
	first := w.provider()
	_, err := first.Retrieve(context.Background(), &plan.Plan{Profile: pl.Profile, EndpointURL: pl.EndpointURL, Region: pl.Region, Steps: pl.Steps[:2]})
	must(t, err)
	release, err := (&keychain.Locks{Dir: w.cacheDir}).Acquire(context.Background(), role, "calling AssumeRole")
	must(t, err)

	waiter := w.provider()
	ring := &countingRing{Keyring: w.kr, key: gst}
	waiter.Cache = &keychain.SessionCache{Keyring: ring, IndexDir: w.cacheDir}
	waiting := make(chan struct{})
	waiter.Locks.Waiting = func(string) { close(waiting) }
	done := make(chan error, 1)
	go func() { _, err := waiter.Retrieve(context.Background(), pl); done <- err }()
	<-waiting

	holder := w.provider()
	holder.Locks = nil
	_, err = holder.Retrieve(context.Background(), pl)
	must(t, err)
	release()

	must(t, <-done)
	if n := ring.reads.Load(); n != 0 {
		t.Errorf("the waiter decrypted the MFA session %d times; it used the cached role session, so want 0", n)
	}
	if w.sts.Calls("GetSessionToken") != 1 || w.sts.Calls("AssumeRole") != 1 {
		t.Errorf("GST=%d AR=%d; want 1 each", w.sts.Calls("GetSessionToken"), w.sts.Calls("AssumeRole"))
	}

	// The index lists the MFA session, but another tool removed the item:
	// the chain is built again from the key, with no error.
	must(t, w.kr.Remove(gst))
	must(t, (&keychain.SessionCache{Keyring: w.kr, IndexDir: w.cacheDir}).Remove(role))
	w.sts.SetNow(func() time.Time { return time.Now().Add(31 * time.Second) }) // the next MFA code
	if _, err := w.provider().Retrieve(context.Background(), pl); err != nil {
		t.Fatalf("a stale index entry failed the run: %v", err)
	}
	if w.sts.Calls("GetSessionToken") != 2 {
		t.Errorf("GetSessionToken calls = %d, want 2 (the removed MFA session fetched again)", w.sts.Calls("GetSessionToken"))
	}
}

// sealedRing answers Gets of one item as the file backend answers an item
// sealed with another passphrase.
type sealedRing struct {
	keyring.Keyring
	key string
}

func (r *sealedRing) Get(key string) (keyring.Item, error) {
	if key == r.key {
		return keyring.Item{}, &keychain.UndecodableItemError{Key: key, WrongPassphrase: true, Err: errors.New("aes.KeyUnwrap(): integrity check failed.")}
	}
	return r.Keyring.Get(key)
}

// TestProviderSourceSessionSealedWithAnotherPassphrase: the index lists the
// MFA session, but it does not open with this passphrase. The run does not
// fail on the index's word: it fetches a new MFA session (one more code),
// as it did before the index was trusted.
func TestProviderSourceSessionSealedWithAnotherPassphrase(t *testing.T) {
	w := newWorld(t)
	pl := w.rolePlan("prod", prodRole)
	gst := pl.Steps[1].CacheKey
	_, err := w.provider().Retrieve(context.Background(), &plan.Plan{Profile: pl.Profile, EndpointURL: pl.EndpointURL, Region: pl.Region, Steps: pl.Steps[:2]})
	must(t, err)
	p := w.provider()
	p.Cache = &keychain.SessionCache{Keyring: &sealedRing{Keyring: w.kr, key: gst}, IndexDir: w.cacheDir}
	w.sts.SetNow(func() time.Time { return time.Now().Add(31 * time.Second) }) // the next MFA code
	if _, err := p.Retrieve(context.Background(), pl); err != nil {
		t.Fatalf("retrieve: %v", err)
	}
	if w.sts.Calls("GetSessionToken") != 2 || w.sts.Calls("AssumeRole") != 1 {
		t.Errorf("GST=%d AR=%d; want 2 and 1", w.sts.Calls("GetSessionToken"), w.sts.Calls("AssumeRole"))
	}
}
