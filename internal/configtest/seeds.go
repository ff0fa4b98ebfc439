// Package configtest holds what the tests of several packages share about
// AWS config files: the seed layout of the user stories and a loader that
// reads nothing from the real environment. Only tests import it.
package configtest

import (
	"os"
	"path/filepath"
	"testing"
)

// SeedConfig is the layout of the user stories: IAM users in a login
// (security) account, roles in dev, stage, prod and mgmt that trust it,
// mostly behind MFA.
const SeedConfig = `
[default]
region = eu-west-1

[profile login]
mfa_serial = arn:aws:iam::026445672617:mfa/alice

[profile dev]
source_profile = login
role_arn = arn:aws:iam::211047650761:role/allow-read-only-from-security-account
mfa_serial = arn:aws:iam::026445672617:mfa/alice

[profile stage]
source_profile = login
role_arn = arn:aws:iam::320385056066:role/allow-read-only-from-security-account
mfa_serial = arn:aws:iam::026445672617:mfa/alice

[profile prod]
source_profile = login
role_arn = arn:aws:iam::725335846599:role/allow-admin-from-security-account
mfa_serial = arn:aws:iam::026445672617:mfa/alice
region = eu-central-1

[profile prod-long]
include_profile = prod
duration_seconds = 7200

[profile mgmt-deploy]
source_profile = prod
role_arn = arn:aws:iam::989175535319:role/deploy
duration_seconds = 7200

[profile other-mfa]
source_profile = login
role_arn = arn:aws:iam::211047650761:role/x
mfa_serial = arn:aws:iam::026445672617:mfa/bob

[profile ci]
credential_process = /usr/local/bin/get-creds ci

[profile ci-dev]
source_profile = ci
role_arn = arn:aws:iam::211047650761:role/ci
duration_seconds = 7200

[profile robot]

[profile robot-dev]
source_profile = robot
role_arn = arn:aws:iam::211047650761:role/robot

[profile sso-admin]
sso_session = corp
sso_account_id = 725335846599
sso_role_name = Admin

[profile sso-chain]
source_profile = sso-admin
role_arn = arn:aws:iam::989175535319:role/deploy
duration_seconds = 7200

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1

[profile web]
role_arn = arn:aws:iam::211047650761:role/web
web_identity_token_file = /var/run/token

[profile env-src]
credential_source = Environment
role_arn = arn:aws:iam::211047650761:role/from-env
`

const SeedCredentials = `
[filekeys]
aws_access_key_id = AKIAEXAMPLEEXAMPLE01
aws_secret_access_key = secret

[tempkeys]
aws_access_key_id = ASIAEXAMPLEEXAMPLE01
aws_secret_access_key = secret
aws_session_token = token
`

// Write puts config and credentials into a new temp dir and returns their
// paths.
func Write(t testing.TB, config, credentials string) (configFile, credentialsFile string) {
	t.Helper()
	dir := t.TempDir()
	configFile = filepath.Join(dir, "config")
	credentialsFile = filepath.Join(dir, "credentials")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credentialsFile, []byte(credentials), 0o600); err != nil {
		t.Fatal(err)
	}
	return configFile, credentialsFile
}

// MapEnv is a LookupEnv reading env alone.
func MapEnv(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}
