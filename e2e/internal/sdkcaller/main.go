// Command sdkcaller is an ordinary aws-sdk-go-v2 program for the end-to-end
// tests: it finds credentials the default way (environment, container
// endpoint, instance metadata, …), as any Go tool run under `rolevault exec`
// would, and calls STS GetCallerIdentity with them.
//
// Each call prints one line: "<access key id> <caller ARN> <credential source>".
// With -distinct N it keeps calling, -every apart, until it has used N
// different access keys, so a test can watch a credential server refresh.
// Any failed call ends it with exit status 1; -give-up bounds the whole run
// (exit status 3) so a server that never refreshes cannot hang a test.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	endpoint := flag.String("endpoint", "", "STS endpoint URL (default: the SDK's own resolution, e.g. AWS_ENDPOINT_URL)")
	distinct := flag.Int("distinct", 1, "keep calling until this many different access keys were used")
	every := flag.Duration("every", time.Second, "pause between calls")
	giveUp := flag.Duration("give-up", 3*time.Minute, "stop with exit status 3 after this long")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *giveUp)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sdkcaller: loading config:", err)
		os.Exit(1)
	}
	seen := map[string]bool{}
	for {
		// Retrieve once and sign with exactly that: the line printed must name
		// the key the call was made with, even when the cache refreshes.
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			fail(ctx, "retrieving credentials", err)
		}
		client := sts.NewFromConfig(cfg, func(o *sts.Options) {
			o.Credentials = credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
			if *endpoint != "" {
				o.BaseEndpoint = aws.String(*endpoint)
			}
		})
		out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			fail(ctx, "GetCallerIdentity with "+creds.AccessKeyID, err)
		}
		fmt.Println(creds.AccessKeyID, aws.ToString(out.Arn), creds.Source)
		seen[creds.AccessKeyID] = true
		if len(seen) >= *distinct {
			return
		}
		select {
		case <-ctx.Done():
			fail(ctx, "waiting", ctx.Err())
		case <-time.After(*every):
		}
	}
}

func fail(ctx context.Context, doing string, err error) {
	fmt.Fprintf(os.Stderr, "sdkcaller: %s: %v\n", doing, err)
	if ctx.Err() != nil {
		os.Exit(3)
	}
	os.Exit(1)
}
