// Command ststest runs the STS/IAM/console-federation/IAM Identity Center
// emulator on loopback for make demo and for end-to-end tests in other
// languages. The SSO OIDC and portal APIs are on the same base URL (use it
// as the sso-oidc and sso endpoint), and so are the sign-in pages a browser
// visits. It prints
// STSTEST_URL=… (and STSTEST_CA=… with -tls) on stdout, then serves until
// interrupted. With -totp it is instead a simulated authenticator: it
// prints the current MFA code for a base32 secret, usable as mfa_process.
//
// The fixture (see demo.json, and ststest.Fixture for every field):
//
//	{"users": [{"account": "111111111111", "name": "alice",
//	            "accessKeys": [{"accessKeyId": "AKIA…", "secretAccessKey": "…40 chars…"}],
//	            "mfaDevices": [{"serial": "arn:aws:iam::111111111111:mfa/alice", "secret": "BASE32"}]}],
//	 "roles": [{"arn": "arn:aws:iam::444444444444:role/administrator",
//	            "trust": ["arn:aws:iam::111111111111:root"], "requireMFA": true,
//	            "externalId": "", "maxSessionDurationSeconds": 3600, "webIdentityTokens": []}],
//	 "maxSessionLifetimeSeconds": 0, "keyPropagationDelaySeconds": 0,
//	 "sso": {"instances": [{"startUrl": "https://d-9067c0ffee.awsapps.com/start", "region": "eu-west-1",
//	                        "user": "alice",
//	                        "assignments": [{"accountId": "111111111111", "accountName": "identity",
//	                                         "roleName": "DeveloperAccess", "policies": {…}}]}],
//	         "accessTokenSeconds": 3600, "refreshTokenSeconds": 28800, "roleCredentialsSeconds": 3600,
//	         "consent": "approve", "noRefreshRotation": false, "pageSize": 20}}
//
// A code is accepted once per device, as on AWS, so a demo that asks for
// MFA twice within 30 seconds gets the second request refused.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rolevault/rolevault/internal/ststest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ststest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "loopback `address` to serve on")
	fixture := fs.String("fixture", "", "JSON `file` with users, keys, MFA devices and roles")
	useTLS := fs.Bool("tls", false, "serve HTTPS with a throwaway CA (its PEM path is printed as STSTEST_CA)")
	maxLife := fs.Duration("max-session-lifetime", 0, "cap every issued session's lifetime (0: no cap)")
	totp := fs.String("totp", "", "print the current MFA code for this base32 `secret` and exit")
	verbose := fs.Bool("v", false, "log each request to stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ststest: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *totp != "" {
		code := ststest.TOTP(*totp, time.Now())
		if code == "" {
			fmt.Fprintln(stderr, "ststest: -totp: the secret is not base32")
			return 1
		}
		fmt.Fprintln(stdout, code)
		return 0
	}

	srv := ststest.New()
	if *fixture != "" {
		f, err := ststest.LoadFixture(*fixture)
		if err == nil {
			err = srv.Apply(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "ststest: %v\n", err)
			return 1
		}
	}
	if *maxLife > 0 {
		srv.SetMaxSessionLifetime(*maxLife)
	}
	if *verbose {
		srv.OnRequest(func(c ststest.Call) {
			code := c.Code
			if code == "" {
				code = "OK"
			}
			fmt.Fprintf(stderr, "ststest: %s %s %s key=%s -> %d %s\n",
				c.Time.UTC().Format(time.RFC3339), c.Service, c.Action, mask(c.AccessKeyID), c.Status, code)
		})
	}
	url, caFile, err := srv.Listen(*listen, *useTLS)
	if err != nil {
		fmt.Fprintf(stderr, "ststest: %v\n", err)
		return 1
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "STSTEST_URL=%s\n", url)
	if caFile != "" {
		fmt.Fprintf(stdout, "STSTEST_CA=%s\n", caFile)
	}
	if f, ok := stdout.(*os.File); ok {
		_ = f.Sync()
	}
	<-ctx.Done()
	return 0
}

// mask keeps logs free of whole key IDs, as the product's --debug does.
func mask(id string) string {
	if len(id) <= 4 {
		return id
	}
	return "****************" + id[len(id)-4:]
}
