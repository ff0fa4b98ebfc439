package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// FederationURLEnv overrides the console federation endpoint. It exists for
// tests (an emulator on loopback); nobody signing in to AWS needs it.
const FederationURLEnv = "ROLEVAULT_FEDERATION_URL"

// ColorKey is the per-profile config key that colours the console's role
// banner in switch-role links. The AWS CLI and SDKs ignore keys they do not
// know, so it is safe in a shared ~/.aws/config.
const ColorKey = "rolevault_color"

// SigninIssuer is the Issuer sent with console logins: the console shows it
// when the session ends, so it names the tool that made the link.
const SigninIssuer = "rolevault"

// Partition is an AWS partition as far as console sign-in and IAM care: each
// has its own sign-in host, console host and IAM signing region, and a key or
// session from one is unknown in the others.
type Partition struct {
	ID          string // "aws", "aws-cn", "aws-us-gov"
	SigninHost  string // serves /federation and /switchrole
	ConsoleHost string
	IAMRegion   string // IAM is global per partition and signs in this region
}

var partitions = []Partition{
	{ID: "aws", SigninHost: "signin.aws.amazon.com", ConsoleHost: "console.aws.amazon.com", IAMRegion: "us-east-1"},
	{ID: "aws-cn", SigninHost: "signin.amazonaws.cn", ConsoleHost: "console.amazonaws.cn", IAMRegion: "cn-north-1"},
	{ID: "aws-us-gov", SigninHost: "signin.amazonaws-us-gov.com", ConsoleHost: "console.amazonaws-us-gov.com", IAMRegion: "us-gov-west-1"},
}

// PartitionByID returns the partition an ARN names (arn:PARTITION:…).
func PartitionByID(id string) (Partition, bool) {
	for _, p := range partitions {
		if p.ID == id {
			return p, true
		}
	}
	return Partition{}, false
}

// PartitionForRegion returns the partition a region belongs to, by the
// region-name prefixes AWS uses. An empty region is the aws partition, as the
// SDKs default to it. The isolated partitions (us-iso-*, us-isob-*, …) have
// no public console, so they are an error rather than a wrong URL.
func PartitionForRegion(region string) (Partition, error) {
	switch {
	case strings.HasPrefix(region, "cn-"):
		p, _ := PartitionByID("aws-cn")
		return p, nil
	case strings.HasPrefix(region, "us-gov-"):
		p, _ := PartitionByID("aws-us-gov")
		return p, nil
	case strings.Contains(region, "-iso"):
		return Partition{}, fmt.Errorf("region %s is in an isolated AWS partition, which has no public console sign-in", region)
	}
	p, _ := PartitionByID("aws")
	return p, nil
}

// FederationURL is the partition's console federation endpoint.
func (p Partition) FederationURL() string { return "https://" + p.SigninHost + "/federation" }

// ConsoleDestination is where the console opens after sign-in: the region's
// console home, or path (e.g. "ec2/home", "s3/buckets#list") on the console
// host with the region added to its query. A full https URL is used as given,
// for deep links copied from a browser.
func ConsoleDestination(region, path string) (string, error) {
	part, err := PartitionForRegion(region)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(path, "https://") {
		return path, nil
	}
	if strings.Contains(path, "://") {
		return "", fmt.Errorf("--path %q: use a console path such as ec2/home, or a full https:// URL", path)
	}
	if path == "" {
		path = "console/home"
	}
	ref, err := url.Parse("/" + strings.TrimLeft(path, "/"))
	if err != nil {
		return "", fmt.Errorf("--path %q: %v", path, err)
	}
	u := &url.URL{Scheme: "https", Host: part.ConsoleHost, Path: ref.Path, RawPath: ref.RawPath, Fragment: ref.Fragment}
	q := ref.Query()
	// The region belongs in the query, never after the fragment, or the
	// console ignores it; a region the path already names wins.
	if region != "" && q.Get("region") == "" {
		q.Set("region", region)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// FederationEndpoint is the endpoint getSigninToken and login go to for a
// region: the override in FederationURLEnv when set, else the partition's.
func FederationEndpoint(region string, lookupEnv func(string) (string, bool)) (string, error) {
	if lookupEnv != nil {
		if v, ok := lookupEnv(FederationURLEnv); ok && v != "" {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return "", fmt.Errorf("%s=%q is not an http(s) URL", FederationURLEnv, v)
			}
			return v, nil
		}
	}
	part, err := PartitionForRegion(region)
	if err != nil {
		return "", err
	}
	return part.FederationURL(), nil
}

// SigninError is the federation endpoint refusing to issue a sign-in token.
type SigninError struct {
	Status int
	Body   string
}

func (e *SigninError) Error() string {
	body := strings.TrimSpace(e.Body)
	if len(body) > 200 {
		body = body[:200] + "…"
	}
	if body == "" {
		return fmt.Sprintf("the console sign-in endpoint answered %d", e.Status)
	}
	return fmt.Sprintf("the console sign-in endpoint answered %d: %s", e.Status, body)
}

// GetSigninToken exchanges temporary credentials for a console sign-in token
// at endpoint (see FederationEndpoint). sessionDuration, when not zero, is
// sent as SessionDuration: AWS accepts it only for role sessions, 15m to 12h
// (1h for chained roles), and refuses it for federated users, whose console
// session lasts as long as their credentials.
func GetSigninToken(ctx context.Context, hc aws.HTTPClient, endpoint string, creds aws.Credentials, sessionDuration time.Duration) (string, error) {
	if creds.SessionToken == "" {
		// Long-term keys never sign in to the console; sending them would
		// only put a secret key on the wire for nothing.
		return "", errors.New("the console accepts only temporary credentials (a role session or a federation token), not long-term access keys")
	}
	session, err := json.Marshal(map[string]string{
		"sessionId":    creds.AccessKeyID,
		"sessionKey":   creds.SecretAccessKey,
		"sessionToken": creds.SessionToken,
	})
	if err != nil {
		return "", err
	}
	q := url.Values{}
	q.Set("Action", "getSigninToken")
	if sessionDuration != 0 {
		q.Set("SessionDuration", strconv.Itoa(int(sessionDuration/time.Second)))
	}
	q.Set("Session", string(session))
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("federation endpoint %q: %w", endpoint, err)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The request URL carries the secret key: report the host only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("cannot reach the console sign-in endpoint %s: %w", u.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("reading the sign-in token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", &SigninError{Status: resp.StatusCode, Body: string(body)}
	}
	var out struct{ SigninToken string }
	if err := json.Unmarshal(body, &out); err != nil || out.SigninToken == "" {
		return "", fmt.Errorf("the console sign-in endpoint sent no SigninToken")
	}
	return out.SigninToken, nil
}

// LoginURL is the URL that signs a browser in with token and opens
// destination. Whoever holds it is signed in until the token expires (15
// minutes), so it is a secret.
func LoginURL(endpoint, destination, token string) string {
	q := url.Values{}
	q.Set("Action", "login")
	q.Set("Issuer", SigninIssuer)
	q.Set("Destination", destination)
	q.Set("SigninToken", token)
	return endpoint + "?" + q.Encode()
}

// Console colours. The switch-role page accepts only the colours of its own
// palette, as six lower-case hex digits; any other value leaves the colour
// unset. These are the values it accepted when this was written (AWS has
// changed them before), under the names the page shows.
var consoleColors = map[string]string{
	"red":    "f2b0a9",
	"orange": "fbc8aa",
	"yellow": "efda95",
	"green":  "b7ca9d",
	"blue":   "83d4e8",
}

var hexColor = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^#?[0-9a-fA-F]{6}$`) })

// ConsoleColor turns a rolevault_color value into the switch-role page's
// colour parameter: a palette name (red, orange, yellow, green, blue) or six
// hex digits, passed through for palette values AWS adds later.
func ConsoleColor(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if c, ok := consoleColors[strings.ToLower(v)]; ok {
		return c, nil
	}
	if hexColor().MatchString(v) {
		return strings.ToLower(strings.TrimPrefix(v, "#")), nil
	}
	return "", fmt.Errorf("%s = %q is not a console colour: use red, orange, yellow, green, blue or six hex digits", ColorKey, v)
}

// roleARNParts splits arn:PARTITION:iam::ACCOUNT:role/PATH/NAME.
var roleARNParts = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^arn:([a-z-]+):iam::(\d{12}):role/(.+)$`) })

// maxSwitchRoleName is the console's limit on a role's path plus name.
const maxSwitchRoleName = 64

// SwitchRoleURL builds the console's switch-role link for roleARN. The
// roleName parameter is everything after "role/", path included, because
// that is what the console's own links carry for a role with a path. No
// credentials are involved: the link only fills in the form of a console
// that is already signed in.
func SwitchRoleURL(roleARN, displayName, color string) (string, error) {
	m := roleARNParts().FindStringSubmatch(roleARN)
	if m == nil {
		return "", fmt.Errorf("role_arn %q is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)", roleARN)
	}
	part, ok := PartitionByID(m[1])
	if !ok {
		return "", fmt.Errorf("role_arn %q is in partition %s, which has no public console", roleARN, m[1])
	}
	name := m[3]
	if len(name) > maxSwitchRoleName {
		return "", fmt.Errorf("role %q: the console can only switch to roles whose path and name together are at most %d characters", name, maxSwitchRoleName)
	}
	q := url.Values{}
	q.Set("roleName", name)
	q.Set("account", m[2])
	if displayName != "" {
		q.Set("displayName", displayName)
	}
	if color != "" {
		q.Set("color", color)
	}
	return "https://" + part.SigninHost + "/switchrole?" + q.Encode(), nil
}

// ErrLinkExpired is OneTimeLink.Wait's error when nothing followed the link
// in time.
var ErrLinkExpired = errors.New("the one-time sign-in link was not opened in time")

// OneTimeLink hands a secret URL to a browser without putting it in any
// process's argv, where every local user can read it (/proc/PID/cmdline):
// the browser gets http://127.0.0.1:PORT/<128 random bits>, which answers
// exactly one GET with a redirect to the secret URL and is then gone.
//
//   - Only the random path on the exact Host 127.0.0.1:PORT is served; any
//     other path, host (a DNS-rebinding page) or method gets an error and
//     does not use the link up.
//   - The redirect says Cache-Control: no-store and Referrer-Policy:
//     no-referrer, and has no body, so the secret is kept nowhere but in the
//     browser's navigation.
//   - After the one redirect, or when Wait gives up, the listener is closed.
type OneTimeLink struct {
	// URL is the loopback address to give the browser.
	URL string

	target, host, path string
	ln                 net.Listener
	srv                *http.Server
	mu                 sync.Mutex
	used               bool
	done               chan struct{}
	closeOnce          sync.Once
}

// Addr is where the link listens (127.0.0.1:PORT), without its secret path,
// for messages and logs.
func (l *OneTimeLink) Addr() string { return l.host }

// NewOneTimeLink starts serving a one-time redirect to target on a random
// loopback port.
func NewOneTimeLink(target string) (*OneTimeLink, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("serving the one-time sign-in link on 127.0.0.1: %w", err)
	}
	l := &OneTimeLink{target: target, host: ln.Addr().String(), path: "/" + hex.EncodeToString(b[:]), ln: ln, done: make(chan struct{})}
	l.URL = "http://" + l.host + l.path
	l.srv = &http.Server{Handler: l, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	l.srv.SetKeepAlivesEnabled(false)
	go l.srv.Serve(ln)
	return l, nil
}

// ServeHTTP answers the link's one GET on its own host and path with a
// redirect to the target; anything else, and any second request, fails.
func (l *OneTimeLink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Host != l.host {
		http.Error(w, "wrong host", http.StatusMisdirectedRequest)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.URL.EscapedPath()), []byte(l.path)) != 1 {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	l.mu.Lock()
	first := !l.used
	l.used = true
	l.mu.Unlock()
	if !first {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Location", l.target)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Connection", "close")
	w.WriteHeader(http.StatusFound)
	close(l.done)
}

// Wait returns nil once the link was followed, ErrLinkExpired when timeout
// passed first, or the context's error. Either way the link is closed when
// it returns, the redirect (if any) delivered.
func (l *OneTimeLink) Wait(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	var err error
	select {
	case <-l.done:
	case <-t.C:
		err = ErrLinkExpired
	case <-ctx.Done():
		err = ctx.Err()
	}
	l.Close()
	return err
}

// Close stops serving the link. It waits a little for a redirect being
// written to reach the browser.
func (l *OneTimeLink) Close() {
	l.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if l.srv.Shutdown(ctx) != nil {
			l.srv.Close()
		}
	})
}
