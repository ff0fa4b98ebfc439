package console

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func linkGet(t *testing.T, u, host string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := noRedirects.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

func TestOneTimeLink(t *testing.T) {
	const target = "https://signin.aws.amazon.com/federation?Action=login&SigninToken=SECRET"
	l, err := NewOneTimeLink(target)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !strings.HasPrefix(l.URL, "http://127.0.0.1:") || len(l.URL[strings.LastIndex(l.URL, "/")+1:]) != 32 || strings.Contains(l.URL, "SECRET") {
		t.Fatalf("URL = %s", l.URL)
	}
	base := l.URL[:strings.LastIndex(l.URL, "/")]
	// None of these use the link up.
	for _, tc := range []struct {
		name, url, host string
		want            int
	}{
		{"wrong path", base + "/0123456789abcdef0123456789abcdef", "", http.StatusNotFound},
		{"no path", base + "/", "", http.StatusNotFound},
		{"rebinding host", l.URL, "attacker.example:" + base[strings.LastIndex(base, ":")+1:], http.StatusMisdirectedRequest},
		{"localhost", l.URL, "localhost:" + base[strings.LastIndex(base, ":")+1:], http.StatusMisdirectedRequest},
	} {
		resp, err := linkGet(t, tc.url, tc.host)
		if err != nil || resp.StatusCode != tc.want || resp.Header.Get("Location") != "" {
			t.Errorf("%s: %v %v", tc.name, resp, err)
		}
	}
	if resp, err := noRedirects.Head(l.URL); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("HEAD: %v %v", resp, err)
	}
	resp, err := linkGet(t, l.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != target ||
		resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("first GET: %d %v", resp.StatusCode, resp.Header)
	}
	if err := l.Wait(context.Background(), time.Minute); err != nil {
		t.Errorf("Wait after the GET = %v", err)
	}
	if resp, err := linkGet(t, l.URL, ""); err == nil {
		t.Errorf("second GET answered %d; the link must be gone", resp.StatusCode)
	}
}

func TestOneTimeLinkExpires(t *testing.T) {
	l, err := NewOneTimeLink("https://example.invalid/")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Wait(context.Background(), time.Millisecond); !errors.Is(err, ErrLinkExpired) {
		t.Fatalf("Wait = %v, want ErrLinkExpired", err)
	}
	if _, err := linkGet(t, l.URL, ""); err == nil {
		t.Error("the link still answers after it expired")
	}
	l2, _ := NewOneTimeLink("https://example.invalid/")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l2.Wait(ctx, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait on a cancelled context = %v", err)
	}
}
