package ststest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rolevault/rolevault/internal/ststest"
)

// A login account with an MFA-protected user and a prod role that demands
// MFA, driven through the real SDK client.
func Example() {
	emu := ststest.New()
	url := emu.Start()
	defer emu.Close()

	id, secret := emu.AddUser("111111111111", "alice")
	serial, totpSecret := emu.AddMFADevice("111111111111", "alice")
	prod := "arn:aws:iam::444444444444:role/administrator"
	if err := emu.AddRole(prod, ststest.RoleOptions{Trust: []string{"arn:aws:iam::111111111111:root"}, RequireMFA: true}); err != nil {
		panic(err)
	}

	client := sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(id, secret, ""),
		HTTPClient:   awshttp.NewBuildableClient(),
	})
	out, err := client.AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn:         aws.String(prod),
		RoleSessionName: aws.String("alice"),
		SerialNumber:    aws.String(serial),
		TokenCode:       aws.String(ststest.TOTP(totpSecret, emu.Now())),
	})
	if err != nil {
		panic(err)
	}
	sess, _ := emu.Session(aws.ToString(out.Credentials.AccessKeyId))
	fmt.Println(aws.ToString(out.AssumedRoleUser.Arn))
	fmt.Println("MFA:", sess.MFA, "lifetime:", sess.Expiration.Sub(sess.Issued).Round(time.Minute))
	fmt.Println("MFA checks:", emu.MFAChecks())
	// Output:
	// arn:aws:sts::444444444444:assumed-role/administrator/alice
	// MFA: true lifetime: 1h0m0s
	// MFA checks: 1
}
