// Command fakebrowser is a scriptable web browser for the end-to-end
// tests. Installed on PATH as xdg-open (and x-www-browser, www-browser:
// what github.com/pkg/browser runs on Linux), it stands in for the person
// who signs in to IAM Identity Center in the emulator (internal/ststest).
//
//	xdg-open URL
//
// Each invocation is one opened tab: it appends one line, the URL with
// secret query values (code, state, user_code, code_challenge, …) masked,
// to $FAKEBROWSER_LOG, so a test counts tabs by counting lines. Then it
// acts as $FAKEBROWSER_ACTION says:
//
//	approve  (default) open the URL as a browser does (asking for HTML,
//	         following redirects), submit the emulator's consent form with
//	         "Allow access", and follow the redirects that follow, including
//	         the last one to the signing-in program's loopback redirect_uri
//	deny     the same, choosing "Deny"
//	visit    open the URL without asking for HTML and submit nothing, so the
//	         emulator's SetSSOConsent default decides
//	ignore   open nothing: the tab is logged and left alone
//
// Install it under one name only (xdg-open): pkg/browser tries the next
// name when an opener fails, which would log a failed sync run twice.
//
// Like a real opener it returns at once, the work done by a detached child;
// with FAKEBROWSER_SYNC=1 it does the work before returning and its exit
// status says whether it worked. FAKEBROWSER_DELAY (a Go duration, e.g.
// 2s) waits before opening. FAKEBROWSER_RESULT, if set, is a file that gets
// one line per invocation saying how it went ("approve 200 …" or
// "error: …"). An HTTPS emulator's CA is trusted through AWS_CA_BUNDLE;
// HTTPS_PROXY and NO_PROXY apply as for any Go program (never to loopback).
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv))
}

// secretParams are query parameters never written to the log.
var secretParams = map[string]bool{
	"code": true, "state": true, "user_code": true, "code_challenge": true, "code_verifier": true,
	"access_token": true, "refresh_token": true, "id_token": true, "client_secret": true, "token": true,
	"device_code": true,
}

// mask hides the values of secret query parameters.
func mask(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.RawQuery == "" {
		return u.String()
	}
	parts := strings.Split(u.RawQuery, "&")
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if name, err := url.QueryUnescape(k); err == nil && secretParams[name] {
			parts[i] = k + "=***"
		}
	}
	u.RawQuery = strings.Join(parts, "&")
	return u.String()
}

func appendLine(path, line string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	// One write of one line: concurrent openers do not interleave.
	_, err = f.WriteString(strings.ReplaceAll(line, "\n", " ") + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func run(args []string, env func(string) string) int {
	if len(args) != 1 || args[0] == "" {
		fmt.Fprintln(os.Stderr, "fakebrowser: usage: xdg-open URL")
		return 2
	}
	target := args[0]
	action := env("FAKEBROWSER_ACTION")
	if action == "" {
		action = "approve"
	}
	switch action {
	case "approve", "deny", "visit", "ignore":
	default:
		fmt.Fprintf(os.Stderr, "fakebrowser: FAKEBROWSER_ACTION=%q: want approve, deny, visit or ignore\n", action)
		return 2
	}
	child := env("FAKEBROWSER_CHILD") == "1"
	if !child {
		if err := appendLine(env("FAKEBROWSER_LOG"), mask(target)); err != nil {
			fmt.Fprintf(os.Stderr, "fakebrowser: %v\n", err)
			return 1
		}
	}
	if action == "ignore" {
		_ = appendLine(env("FAKEBROWSER_RESULT"), "ignore")
		return 0
	}
	if env("FAKEBROWSER_SYNC") != "1" && !child {
		if err := detach(target); err != nil {
			fmt.Fprintf(os.Stderr, "fakebrowser: %v\n", err)
			return 1
		}
		return 0
	}
	if d := env("FAKEBROWSER_DELAY"); d != "" {
		dur, err := time.ParseDuration(d)
		if err != nil {
			fmt.Fprintf(os.Stderr, "fakebrowser: FAKEBROWSER_DELAY=%q: %v\n", d, err)
			return 2
		}
		time.Sleep(dur)
	}
	outcome, err := browse(target, action, env("AWS_CA_BUNDLE"))
	if err != nil {
		_ = appendLine(env("FAKEBROWSER_RESULT"), "error: "+err.Error())
		fmt.Fprintf(os.Stderr, "fakebrowser: %v\n", err)
		return 1
	}
	_ = appendLine(env("FAKEBROWSER_RESULT"), action+" "+outcome)
	return 0
}

var (
	formRE    = regexp.MustCompile(`(?s)<form[^>]*\bid="sso-consent"[^>]*>(.*?)</form>`)
	actionRE  = regexp.MustCompile(`<form[^>]*\baction="([^"]*)"`)
	hiddenRE  = regexp.MustCompile(`<input[^>]*\btype="hidden"[^>]*>`)
	nameRE    = regexp.MustCompile(`\bname="([^"]*)"`)
	valueRE   = regexp.MustCompile(`\bvalue="([^"]*)"`)
	messageRE = regexp.MustCompile(`<p id="sso-message">([^<]*)</p>`)
)

func newClient(caFile string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificates", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second}, nil
}

// browse opens target and, for approve and deny, answers the consent form.
// It returns the final status and (masked) URL.
func browse(target, action, caFile string) (string, error) {
	c, err := newClient(caFile)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return "", err
	}
	if action == "visit" {
		req.Header.Set("Accept", "*/*")
	} else {
		req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	}
	req.Header.Set("User-Agent", "fakebrowser (rolevault e2e)")
	resp, page, err := fetch(c, req)
	if err != nil {
		return "", err
	}
	if action == "visit" {
		return describe(resp, page), nil
	}
	m := formRE.FindStringSubmatch(page)
	if m == nil {
		return "", fmt.Errorf("%s: no consent form (HTTP %d%s)", mask(resp.Request.URL.String()), resp.StatusCode, pageMessage(page))
	}
	form := url.Values{"action": {action}}
	for _, in := range hiddenRE.FindAllString(m[1], -1) {
		n, v := nameRE.FindStringSubmatch(in), valueRE.FindStringSubmatch(in)
		if n != nil && v != nil {
			form.Set(html.UnescapeString(n[1]), html.UnescapeString(v[1]))
		}
	}
	postTo := resp.Request.URL
	if a := actionRE.FindStringSubmatch(m[0]); a != nil {
		ref, err := url.Parse(html.UnescapeString(a[1]))
		if err != nil {
			return "", err
		}
		postTo = resp.Request.URL.ResolveReference(ref)
	}
	post, err := http.NewRequest(http.MethodPost, postTo.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.Header.Set("Accept", req.Header.Get("Accept"))
	post.Header.Set("User-Agent", req.Header.Get("User-Agent"))
	resp, page, err = fetch(c, post)
	if err != nil {
		return "", err
	}
	return describe(resp, page), nil
}

func fetch(c *http.Client, req *http.Request) (*http.Response, string, error) {
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// The URL may carry a code; say where without it.
			return nil, "", fmt.Errorf("%s %s: %v", ue.Op, mask(ue.URL), ue.Err)
		}
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(body), err
}

func describe(resp *http.Response, page string) string {
	return fmt.Sprintf("%d %s%s", resp.StatusCode, mask(resp.Request.URL.String()), pageMessage(page))
}

func pageMessage(page string) string {
	if m := messageRE.FindStringSubmatch(page); m != nil {
		return ": " + html.UnescapeString(m[1])
	}
	return ""
}
