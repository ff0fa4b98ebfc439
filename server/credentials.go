package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// CredentialsFunc hands the servers the credentials to serve. The caller's
// function goes through rolevault's session cache and cross-process lock, so
// calling it is cheap when a cached session is still fresh and it returns new
// credentials when the cached ones are inside their minimum TTL.
type CredentialsFunc func(ctx context.Context) (aws.Credentials, error)

const (
	// DefaultMinTTL is the least lifetime credentials must have left for a
	// server to hand them out without asking the CredentialsFunc again.
	//
	// The SDKs that read these servers refresh ahead of expiry: the Go SDK 5
	// minutes ahead for container credentials (and at expiry for IMDS),
	// the JavaScript SDK 5 minutes, botocore 15 minutes (advisory; 10 minutes
	// mandatory, when every call blocks on the refresh). Fifteen minutes is
	// the widest of those windows, so a freshly served document is never
	// already due for refresh in any of them — otherwise botocore would come
	// back on every API call. It is also vault.DefaultMinTTL, the point at
	// which the CredentialsFunc itself fetches new credentials: a larger
	// value here would only make the server ask for, and get back, the same
	// cached credentials.
	DefaultMinTTL = 15 * time.Minute

	// DefaultRefreshTimeout bounds one call of the CredentialsFunc. It is long
	// enough for a person to answer an MFA prompt or unlock a keychain, and
	// short enough that a wedged source cannot keep clients waiting forever.
	DefaultRefreshTimeout = 2 * time.Minute

	// refreshGap is how long the server keeps an answer from the
	// CredentialsFunc before asking again when that answer was an error, or
	// credentials already inside MinTTL (a source that cannot do better, such
	// as a role whose maximum session is shorter than MinTTL). SDKs retry a
	// failed fetch two or three times within a few seconds (botocore: three
	// tries one second apart; the Go SDK: three tries with jittered backoff);
	// without the gap each retry would be another STS call or MFA prompt.
	refreshGap = 5 * time.Second

	// eternity is how far ahead the Expiration of credentials that do not
	// expire is placed. botocore requires an Expiration in both documents; a
	// rolling hour makes it come back hourly and get the same keys again.
	eternity = time.Hour
)

// ErrRefresh marks errors from the CredentialsFunc (or its timeout), as
// opposed to errors of the request itself.
var ErrRefresh = errors.New("refreshing credentials failed")

// refreshOptions are the knobs the ECS and EC2 servers share.
type refreshOptions struct {
	minTTL  time.Duration
	timeout time.Duration
	now     func() time.Time
}

// refresher keeps the last credentials from a CredentialsFunc in memory and
// serialises calls to it: at most one call is in flight, and every request
// that needs fresh credentials meanwhile waits for that call's result.
type refresher struct {
	fetch CredentialsFunc
	opts  refreshOptions
	// base bounds every fetch; it is cancelled when the server stops. A fetch
	// deliberately does not inherit the context of the request that started
	// it: botocore gives up after 2 s (1 s for IMDS) and tries again, and that
	// retry should find the fetch still running, not cancelled.
	base context.Context

	mu        sync.Mutex
	creds     aws.Credentials // valid only when have is true
	have      bool
	fetchedAt time.Time
	lastErr   error
	errAt     time.Time
	inflight  *flight
}

type flight struct {
	done  chan struct{}
	creds aws.Credentials
	at    time.Time
	err   error
}

func newRefresher(base context.Context, fetch CredentialsFunc, o refreshOptions) *refresher {
	if o.minTTL <= 0 {
		o.minTTL = DefaultMinTTL
	}
	if o.timeout <= 0 {
		o.timeout = DefaultRefreshTimeout
	}
	if o.now == nil {
		o.now = time.Now
	}
	return &refresher{fetch: fetch, opts: o, base: base}
}

// get returns credentials that are not expired, fetching new ones when the
// held ones have less than minTTL left. It returns the time the credentials
// were fetched, which the IMDS document reports as LastUpdated.
func (r *refresher) get(ctx context.Context) (aws.Credentials, time.Time, error) {
	r.mu.Lock()
	now := r.opts.now()
	if r.have {
		if remaining(r.creds, now) >= r.opts.minTTL {
			c, at := r.creds, r.fetchedAt
			r.mu.Unlock()
			return c, at, nil
		}
		// The source just gave us these; asking again now would return the
		// same or cost an STS call per request.
		if now.Sub(r.fetchedAt) < refreshGap && remaining(r.creds, now) > 0 {
			c, at := r.creds, r.fetchedAt
			r.mu.Unlock()
			return c, at, nil
		}
	}
	if r.lastErr != nil && now.Sub(r.errAt) < refreshGap && r.inflight == nil {
		err := r.lastErr
		r.mu.Unlock()
		return aws.Credentials{}, time.Time{}, err
	}
	f := r.inflight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		r.inflight = f
		go r.run(f)
	}
	r.mu.Unlock()

	select {
	case <-f.done:
	case <-ctx.Done():
		return aws.Credentials{}, time.Time{}, ctx.Err()
	}
	return f.creds, f.at, f.err
}

// lastUpdated is when the held credentials were fetched, or now if none are.
func (r *refresher) lastUpdated() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.have {
		return r.opts.now()
	}
	return r.fetchedAt
}

// run calls the CredentialsFunc once and publishes the result to f's waiters.
func (r *refresher) run(f *flight) {
	ctx, cancel := context.WithTimeout(r.base, r.opts.timeout)
	defer cancel()

	type result struct {
		creds aws.Credentials
		err   error
	}
	// Buffered so the goroutine can finish (and be collected) even when we
	// stopped waiting for it: a CredentialsFunc that ignores its context
	// must not turn into a request that never returns.
	ch := make(chan result, 1)
	go func() {
		c, err := r.fetch(ctx)
		ch <- result{c, err}
	}()

	var res result
	select {
	case res = <-ch:
	case <-ctx.Done():
		res.err = ctx.Err()
		if errors.Is(res.err, context.DeadlineExceeded) {
			res.err = fmt.Errorf("no answer within %s", r.opts.timeout)
		}
	}

	now := r.opts.now()
	if res.err == nil {
		res.err = checkFetched(res.creds, now)
	}
	if res.err != nil {
		f.err = fmt.Errorf("%w: %w", ErrRefresh, res.err)
	} else {
		f.creds, f.at = res.creds, now
	}

	r.mu.Lock()
	if f.err != nil {
		r.lastErr, r.errAt = f.err, now
	} else {
		r.creds, r.fetchedAt, r.have = f.creds, f.at, true
		r.lastErr = nil
	}
	r.inflight = nil
	r.mu.Unlock()
	close(f.done)
}

// checkFetched rejects what no client could use, so the error surfaces here,
// named, rather than as a signature failure at AWS.
func checkFetched(c aws.Credentials, now time.Time) error {
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return errors.New("the credential source returned an empty access key")
	}
	if c.CanExpire && !c.Expires.After(now) {
		return fmt.Errorf("the credential source returned credentials that expired at %s",
			c.Expires.UTC().Format(time.RFC3339))
	}
	return nil
}

// remaining is how long c stays valid after now; credentials that do not
// expire are always fresh.
func remaining(c aws.Credentials, now time.Time) time.Duration {
	if !c.CanExpire {
		return 1<<63 - 1
	}
	return c.Expires.Sub(now)
}

// expiration is the Expiration a document states for c.
func expiration(c aws.Credentials, now time.Time) time.Time {
	if !c.CanExpire {
		return now.Add(eternity)
	}
	return c.Expires
}

// isoTime formats t the way the metadata services do. botocore parses the IMDS
// Expiration with exactly "%Y-%m-%dT%H:%M:%SZ": no fraction, no offset.
// Truncating to the second only ever moves the expiry earlier.
func isoTime(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
}

// maskKey shows the last four characters of an access key id, as aws-vault's
// debug log does, so logs can tell sessions apart without holding them.
func maskKey(id string) string {
	if len(id) <= 4 {
		return "****"
	}
	return "****************" + id[len(id)-4:]
}
