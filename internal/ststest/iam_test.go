package ststest

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// The rotate flow: create a key, use it, delete the old one; a third key
// hits AWS's two-keys quota.
func TestIAMAccessKeyLifecycle(t *testing.T) {
	w := newWorld(t)
	c := iamClient(w.url, w.alice)
	created, err := c.CreateAccessKey(ctx(t), &iam.CreateAccessKeyInput{})
	must(t, err)
	ak := created.AccessKey
	if aws.ToString(ak.UserName) != "alice" || !strings.HasPrefix(aws.ToString(ak.AccessKeyId), "AKIA") ||
		len(aws.ToString(ak.SecretAccessKey)) != 40 || ak.Status != "Active" {
		t.Fatalf("CreateAccessKey = %+v", ak)
	}
	fresh := keys{aws.ToString(ak.AccessKeyId), aws.ToString(ak.SecretAccessKey), ""}

	_, err = c.CreateAccessKey(ctx(t), &iam.CreateAccessKeyInput{})
	wantErr(t, err, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", 409)

	list, err := iamClient(w.url, fresh).ListAccessKeys(ctx(t), &iam.ListAccessKeysInput{})
	must(t, err)
	if len(list.AccessKeyMetadata) != 2 || aws.ToString(list.AccessKeyMetadata[0].AccessKeyId) != w.alice.id {
		t.Fatalf("ListAccessKeys = %+v", list.AccessKeyMetadata)
	}

	_, err = iamClient(w.url, fresh).DeleteAccessKey(ctx(t), &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(w.alice.id)})
	must(t, err)
	_, err = stsClient(w.url, w.alice).GetCallerIdentity(ctx(t), nil)
	wantErr(t, err, "InvalidClientTokenId", msgInvalidKey, 403)
	_, err = iamClient(w.url, fresh).DeleteAccessKey(ctx(t), &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(w.alice.id)})
	wantErr(t, err, "NoSuchEntity", "The Access Key with id "+w.alice.id+" cannot be found.", 404)
	_, err = iamClient(w.url, fresh).DeleteAccessKey(ctx(t), &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(w.bob.id)})
	wantErr(t, err, "NoSuchEntity", "cannot be found", 404)
	if got := w.s.AccessKeys(loginAcct, "alice"); len(got) != 1 || got[0].AccessKeyID != fresh.id {
		t.Fatalf("AccessKeys = %+v", got)
	}
}

func TestIAMCallerKinds(t *testing.T) {
	w := newWorld(t)
	plain, err := stsClient(w.url, w.alice).GetSessionToken(ctx(t), nil)
	must(t, err)
	fed, err := stsClient(w.url, w.alice).GetFederationToken(ctx(t), &sts.GetFederationTokenInput{Name: aws.String("fed")})
	must(t, err)
	loginAdmin := "arn:aws:iam::" + loginAcct + ":role/admin"
	must(t, w.s.AddRole(loginAdmin, RoleOptions{Trust: []string{"arn:aws:iam::" + loginAcct + ":root"}}))
	roleSess := w.assume(t, w.alice, loginAdmin)

	tests := []struct {
		name      string
		creds     keys
		user      string // UserName parameter
		wantUser  string
		code, msg string
		status    int
	}{
		{name: "long-term key, self", creds: w.alice, wantUser: "alice"},
		{name: "long-term key, another user", creds: w.alice, user: "bob", code: "AccessDenied", status: 403,
			msg: "User: arn:aws:iam::111111111111:user/alice is not authorized to perform: iam:GetUser on resource: user bob"},
		{name: "MFA session", creds: w.mfaSession(t), wantUser: "alice"},
		{name: "session without MFA", creds: fromCreds(plain.Credentials), code: "InvalidClientTokenId", status: 403, msg: msgInvalidToken},
		{name: "federated user", creds: fromCreds(fed.Credentials), code: "InvalidClientTokenId", status: 403, msg: msgInvalidToken},
		{name: "role session without user name", creds: roleSess, code: "ValidationError", status: 400,
			msg: "Must specify userName when calling with non-User credentials"},
		{name: "role session names a user", creds: roleSess, user: "bob", wantUser: "bob"},
		{name: "no such user", creds: roleSess, user: "nobody", code: "NoSuchEntity", status: 404, msg: "The user with name nobody cannot be found."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &iam.GetUserInput{}
			if tc.user != "" {
				in.UserName = aws.String(tc.user)
			}
			out, err := iamClient(w.url, tc.creds).GetUser(ctx(t), in)
			if tc.code != "" {
				wantErr(t, err, tc.code, tc.msg, tc.status)
				return
			}
			must(t, err)
			if aws.ToString(out.User.UserName) != tc.wantUser ||
				aws.ToString(out.User.Arn) != "arn:aws:iam::111111111111:user/"+tc.wantUser {
				t.Fatalf("GetUser = %+v", out.User)
			}
		})
	}
}

func TestIAMRegionStrictness(t *testing.T) {
	w := newWorld(t)
	c := iam.New(iam.Options{Region: "eu-west-1", BaseEndpoint: aws.String(w.url), Credentials: iamClient(w.url, w.alice).Options().Credentials})
	_, err := c.GetUser(ctx(t), &iam.GetUserInput{})
	must(t, err)
	w.s.SetIAMRegion("us-east-1")
	_, err = c.GetUser(ctx(t), &iam.GetUserInput{})
	wantErr(t, err, "SignatureDoesNotMatch", "Credential should be scoped to a valid region, not 'eu-west-1'. ", 403)
}

// IAM is eventually consistent: a new key may be refused for a few seconds.
// Clients that rotate keys must retry; the delay lets tests prove they do.
func TestIAMKeyPropagationDelay(t *testing.T) {
	w := newWorld(t)
	w.s.SetKeyPropagationDelay(10 * time.Second)
	out, err := iamClient(w.url, w.alice).CreateAccessKey(ctx(t), &iam.CreateAccessKeyInput{})
	must(t, err)
	fresh := keys{aws.ToString(out.AccessKey.AccessKeyId), aws.ToString(out.AccessKey.SecretAccessKey), ""}
	_, err = stsClient(w.url, fresh).GetCallerIdentity(ctx(t), nil)
	wantErr(t, err, "InvalidClientTokenId", msgInvalidKey, 403)
	w.s.SetNow(func() time.Time { return time.Now().Add(11 * time.Second) })
	_, err = stsClient(w.url, fresh).GetCallerIdentity(ctx(t), nil)
	must(t, err)
}

func TestIAMListMFADevices(t *testing.T) {
	w := newWorld(t)
	out, err := iamClient(w.url, w.alice).ListMFADevices(ctx(t), &iam.ListMFADevicesInput{})
	must(t, err)
	if len(out.MFADevices) != 1 || aws.ToString(out.MFADevices[0].SerialNumber) != w.serial {
		t.Fatalf("ListMFADevices = %+v", out.MFADevices)
	}
	out, err = iamClient(w.url, w.bob).ListMFADevices(ctx(t), &iam.ListMFADevicesInput{})
	must(t, err)
	if len(out.MFADevices) != 0 {
		t.Fatalf("bob has devices: %+v", out.MFADevices)
	}
}

// A key created whose reply is lost: the key exists on the server, the
// client saw an error. Rotation code has to cope with that.
func TestIAMFailAfterCreateAccessKey(t *testing.T) {
	w := newWorld(t)
	w.s.FailAfter("CreateAccessKey", "ServiceFailure", "injected", 1)
	_, err := iamClient(w.url, w.alice).CreateAccessKey(ctx(t), &iam.CreateAccessKeyInput{})
	wantErr(t, err, "ServiceFailure", "injected", 500)
	if got := w.s.AccessKeys(loginAcct, "alice"); len(got) != 2 {
		t.Fatalf("keys after lost reply: %d, want 2", len(got))
	}
	_, err = iamClient(w.url, w.alice).CreateAccessKey(ctx(t), &iam.CreateAccessKeyInput{})
	wantErr(t, err, "LimitExceeded", "AccessKeysPerUser", 409)
}
