package prompt

import (
	"context"
	"os/exec"
)

// ykmanSource reads codes from a YubiKey's OATH applet with the ykman CLI at
// path, the way aws-vault's ykman driver does:
//
//	ykman [--device SERIAL] oath accounts code --single ACCOUNT
//
// ACCOUNT is YKMAN_OATH_CREDENTIAL_NAME, or the MFA serial when that is
// unset; SERIAL is YKMAN_OATH_DEVICE_SERIAL, for people with several keys;
// AWS_VAULT_YKMAN_VERSION=1|2|3 selects the pre-4.0 "oath code" spelling.
// The key computes the code, so asking again after a rejection would only
// repeat it: the source is not interactive.
func ykmanSource(path string, sys system) Source {
	return oneShot("ykman", func(ctx context.Context, mfaSerial string) (string, error) {
		cmd := exec.CommandContext(ctx, path, ykmanArgs(mfaSerial, sys.env)...)
		cmd.Env = sys.env
		// On the terminal ykman prints "Touch your YubiKey..." itself when
		// the credential needs a touch, and can ask for the OATH password.
		res, err := sys.runAttached(ctx, cmd)
		if err != nil {
			return "", programError("ykman", res, err)
		}
		// --single prints the bare code; older releases and scripts that
		// wrap ykman print "account  code", so take the last word.
		return lastField(res.stdout), nil
	})
}

func ykmanArgs(mfaSerial string, env environ) []string {
	account := env.get("YKMAN_OATH_CREDENTIAL_NAME")
	if account == "" {
		account = mfaSerial
	}
	var args []string
	if dev := env.get("YKMAN_OATH_DEVICE_SERIAL"); dev != "" {
		args = append(args, "--device", dev)
	}
	switch env.get("AWS_VAULT_YKMAN_VERSION") {
	case "1", "2", "3":
		return append(args, "oath", "code", "--single", account)
	}
	return append(args, "oath", "accounts", "code", "--single", account)
}
