#!/usr/bin/env bash
# make demo: rolevault's whole flow against the bundled STS emulator, with a
# file keyring in a temporary directory. Nothing touches your home directory
# and nothing leaves 127.0.0.1.
set -euo pipefail
BIN=$(cd "$(dirname "${1:-bin/rolevault}")" && pwd)/$(basename "${1:-bin/rolevault}")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rolevault-demo.XXXXXX")

# Everything the demo starts in the background is listed here, so that on
# any exit — the end, an error, Ctrl-C (SIGINT) or SIGTERM — it is stopped
# and waited for before the temporary directory goes. Background processes
# of a script ignore the terminal's Ctrl-C, so they must be killed by pid.
PIDS=()
cleanup() {
  trap - EXIT INT TERM
  if [ ${#PIDS[@]} -gt 0 ]; then
    kill "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo; echo "Interrupted; $TMP removed."; exit 130' INT
trap 'exit 143' TERM

bold() { if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }

# show prints a command as you would type it: every argument quoted for sh
# where it needs quotes, the binary under test as plain "rolevault".
show() {
  local out="$" a q="'\\''"
  for a in "$@"; do
    [ "$a" = "$BIN" ] && a=rolevault
    if [[ $a =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
      out+=" $a"
    else
      out+=" '${a//\'/$q}'"
    fi
  done
  printf '%s\n' "$out"
}
run() { show "$@"; "$@"; }

# Build the emulator and a small aws-sdk-go-v2 client first, while HOME still
# points at the Go module cache.
(cd "$ROOT" && go build -o "$TMP/ststest" ./internal/cmd/ststest && go build -o "$TMP/sdkcaller" ./e2e/internal/sdkcaller &&
  mkdir -p "$TMP/bin" && go build -o "$TMP/bin/xdg-open" ./e2e/internal/fakebrowser)

# An isolated world: its own HOME, AWS config, keyring and cache.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN \
      AWS_REGION AWS_DEFAULT_REGION AWS_VAULT AWS_CA_BUNDLE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_STS
export HOME="$TMP/home" AWS_CONFIG_FILE="$TMP/aws/config" AWS_SHARED_CREDENTIALS_FILE="$TMP/aws/credentials"
export AWS_VAULT_BACKEND=file AWS_VAULT_FILE_DIR="$TMP/keyring" AWS_VAULT_FILE_PASSPHRASE=demo-passphrase
export ROLEVAULT_CACHE_DIR="$TMP/cache" AWS_EC2_METADATA_DISABLED=true NO_COLOR=${NO_COLOR:-}
mkdir -p "$HOME" "$TMP/aws"

bold "Starting the STS emulator (internal/cmd/ststest) with the demo accounts"
"$TMP/ststest" -fixture "$ROOT/internal/cmd/ststest/demo.json" -v >"$TMP/emu.out" 2>"$TMP/emu.log" &
PIDS+=($!)
for _ in $(seq 100); do grep -q STSTEST_URL "$TMP/emu.out" 2>/dev/null && break; sleep 0.05; done
URL=$(sed -n 's/^STSTEST_URL=//p' "$TMP/emu.out")
echo "emulator at $URL: login account 111111111111 (alice, MFA), dev 222222222222, stage 333333333333, prod 444444444444"
sts_calls() { grep -c ' sts ' "$TMP/emu.log" || true; }

# The simulated authenticator: prints the current TOTP code of alice's device.
AUTH="$TMP/ststest -totp ROLEVAULTDEMOTOTPSECRETJBSWY3DPE"
cat >"$AWS_CONFIG_FILE" <<CONFIG
[default]
region = us-east-1

# The login (security) account: alice's IAM user, MFA on her phone.
[profile login]
mfa_serial = arn:aws:iam::111111111111:mfa/alice
mfa_process = $AUTH
endpoint_url = $URL

[profile dev]
source_profile = login
role_arn = arn:aws:iam::222222222222:role/developer
mfa_serial = arn:aws:iam::111111111111:mfa/alice
endpoint_url = $URL

[profile stage]
source_profile = login
role_arn = arn:aws:iam::333333333333:role/developer
mfa_serial = arn:aws:iam::111111111111:mfa/alice
endpoint_url = $URL

[profile prod]
source_profile = login
role_arn = arn:aws:iam::444444444444:role/administrator
mfa_serial = arn:aws:iam::111111111111:mfa/alice
endpoint_url = $URL
CONFIG
bold "The AWS config (like the seed articles: one login account, roles in dev/stage/prod)"
sed -n '/^\[/,$p' "$AWS_CONFIG_FILE" | sed "s|$TMP|\$TMP|g"

bold "rolevault add login   (keys from the environment here; interactively it asks on the terminal)"
printf '$ AWS_ACCESS_KEY_ID=AKIA… AWS_SECRET_ACCESS_KEY=… rolevault add --env login\n'
AWS_ACCESS_KEY_ID=AKIAALICEDEMOEXAMPLE AWS_SECRET_ACCESS_KEY='demoALICEsecretKEY/notREAL/EXAMPLE+00000' \
  "$BIN" add --env login

bold "rolevault list"
run "$BIN" list

bold "rolevault explain prod   (no network, no secrets read)"
run "$BIN" explain prod

bold "rolevault exec prod -- …   (the MFA code comes from the simulated authenticator via mfa_process)"
run "$BIN" exec prod -- sh -c 'echo "child sees AWS_VAULT=$AWS_VAULT region=$AWS_REGION key=${AWS_ACCESS_KEY_ID%????????????}… expires=$AWS_CREDENTIAL_EXPIRATION"'

bold "rolevault exec dev   (reuses alice's MFA session: no new code, one AssumeRole)"
before=$(sts_calls)
run "$BIN" exec dev -- sh -c 'echo "child sees AWS_VAULT=$AWS_VAULT"'
echo "STS calls for dev: $(( $(sts_calls) - before ))"

bold "rolevault export --format=json prod   (the credential_process document; secrets shortened here)"
printf '$ rolevault export --format=json prod\n'
"$BIN" export --format=json prod | sed -E 's/("(SecretAccessKey|SessionToken)": ")(.{8})[^"]*/\1\3…/'

DEB_AWS=$(dpkg -L awscli 2>/dev/null | grep '/bin/aws$' | head -1 || true)
if [ -n "$DEB_AWS" ]; then
  bold "The AWS CLI v2 using rolevault as credential_process"
  cat >>"$AWS_CONFIG_FILE" <<CONFIG

[profile prod-cli]
region = us-east-1
credential_process = $BIN export --format=json prod
CONFIG
  run env -u AWS_CONFIG_FILE AWS_CONFIG_FILE="$AWS_CONFIG_FILE" HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost \
    "$DEB_AWS" sts get-caller-identity --profile prod-cli --endpoint-url "$URL" --output table
else
  bold "The AWS CLI v2 is not installed (apt-get install awscli); skipping the credential_process call"
fi

bold "A second call is served from the cache"
before=$(sts_calls)
printf '$ rolevault --debug export --format=json prod\n'
"$BIN" --debug export --format=json prod 2>&1 >/dev/null | grep -E 'keyring read|using cached' || true
echo "STS calls: $(( $(sts_calls) - before ))"

bold "rolevault list   (sessions and time left)"
run "$BIN" list

bold "A long job under --ecs-server survives credential refreshes"
# A second emulator whose role sessions last 40 seconds instead of an hour,
# and AWS_MIN_TTL=30s, so refreshes come every ~10 s instead of every hour.
# The child is an ordinary aws-sdk-go-v2 program that keeps calling STS.
"$TMP/ststest" -fixture "$ROOT/internal/cmd/ststest/demo.json" -max-session-lifetime 40s -v >"$TMP/emu2.out" 2>"$TMP/emu2.log" &
EMU2_PID=$!
PIDS+=("$EMU2_PID")
for _ in $(seq 100); do grep -q STSTEST_URL "$TMP/emu2.out" 2>/dev/null && break; sleep 0.05; done
URL2=$(sed -n 's/^STSTEST_URL=//p' "$TMP/emu2.out")
cat >>"$AWS_CONFIG_FILE" <<CONFIG

[profile login-long]
mfa_serial = arn:aws:iam::111111111111:mfa/alice
mfa_process = $AUTH
endpoint_url = $URL2

[profile prod-long]
source_profile = login-long
role_arn = arn:aws:iam::444444444444:role/administrator
mfa_serial = arn:aws:iam::111111111111:mfa/alice
endpoint_url = $URL2
CONFIG
AWS_ACCESS_KEY_ID=AKIAALICEDEMOEXAMPLE AWS_SECRET_ACCESS_KEY='demoALICEsecretKEY/notREAL/EXAMPLE+00000' \
  "$BIN" add --env login-long >/dev/null
printf '$ AWS_MIN_TTL=30s rolevault exec --ecs-server prod-long -- sdkcaller -distinct 3 -every 4s\n'
# Each call is printed as it happens: the job writes into a FIFO that this
# shell reads line by line (no pipe into a buffering filter), and the job is
# a background process with its pid listed, so Ctrl-C stops it too.
mkfifo "$TMP/job.out"
AWS_MIN_TTL=30s "$BIN" exec --ecs-server prod-long -- "$TMP/sdkcaller" -endpoint "$URL2" -distinct 3 -every 4s -give-up 2m \
  >"$TMP/job.out" &
JOB_PID=$!
PIDS+=("$JOB_PID")
n=0
while read -r key arn source; do
  n=$((n + 1))
  printf '  call %2d  key %s…  %s  (%s)\n' "$n" "${key:0:8}" "$arn" "$source"
done <"$TMP/job.out"
wait "$JOB_PID"
echo "GetSessionToken calls: $(grep -c 'GetSessionToken' "$TMP/emu2.log"), AssumeRole calls: $(grep -c 'AssumeRole' "$TMP/emu2.log") — one MFA code, fresh role keys without asking again"
kill "$EMU2_PID" 2>/dev/null || true
wait "$EMU2_PID" 2>/dev/null || true

bold "rolevault login --switch-role prod   (the console link for people who sign in to the login account)"
run "$BIN" login --switch-role prod

bold "rolevault login --stdout prod   (the console sign-in URL it would open; the emulator plays the federation endpoint)"
printf '$ rolevault login --stdout prod\n'
ROLEVAULT_FEDERATION_URL="$URL/federation" "$BIN" login --stdout prod

bold "rolevault agent   (unlock the file keyring once; every later call is served from memory)"
# On a terminal, 'eval "$(rolevault agent start)"' asks for the passphrase
# once; here it comes from the variable, which is then unset: the calls
# after it have no passphrase at all and are served by the agent.
export ROLEVAULT_AGENT_SOCK="$TMP/agent.sock"
printf '$ eval "$(rolevault agent start --idle 10m)"\n'
agent_out=$("$BIN" agent start --idle 10m)
eval "$agent_out"
PIDS+=("$(sed -n 's/^echo Agent pid \([0-9]*\);$/\1/p' <<<"$agent_out")")
unset AWS_VAULT_FILE_PASSPHRASE
show "$BIN" agent status
"$BIN" agent status | sed "s|$TMP|\$TMP|g"
for p in dev stage prod; do
  printf '$ rolevault export --format=json %s   # this shell has no passphrase any more\n' "$p"
  "$BIN" export --format=json "$p" | sed -nE 's/.*"AccessKeyId": "(.{8})[^"]*".*/  AccessKeyId \1…/p; s/.*"Expiration": "([^"]*)".*/  Expiration  \1/p'
done
printf '$ rolevault --debug exec prod -- true\n'
"$BIN" --debug exec prod -- true 2>&1 | grep -E 'served by the agent|keyring read' | sed "s|$TMP|\$TMP|g" || true
run "$BIN" agent lock
show "$BIN" agent status
"$BIN" agent status | sed "s|$TMP|\$TMP|g"
run "$BIN" agent stop
unset ROLEVAULT_AGENT_SOCK
export AWS_VAULT_FILE_PASSPHRASE=demo-passphrase

cat >>"$AWS_CONFIG_FILE" <<CONFIG

# A role in the QA account (555555555555) whose trust policy was written for
# the wrong account: it does not trust the login account.
[profile qa]
source_profile = login
role_arn = arn:aws:iam::555555555555:role/developer
mfa_serial = arn:aws:iam::111111111111:mfa/alice
endpoint_url = $URL
CONFIG

bold "rolevault policy --all   (the IAM policies this config needs, from the config alone: no network, no secrets)"
run "$BIN" policy --all

bold "rolevault doctor prod   (the chain checked live, step by step; the cached MFA session is reused)"
run "$BIN" doctor prod

bold "rolevault doctor qa   (qa's role does not trust the login account: doctor finds which side is missing)"
# doctor exits 1 when a step fails, as it does here on purpose; the demo
# itself goes on and exits 0.
show "$BIN" doctor qa
rc=0
"$BIN" doctor qa || rc=$?
if [ "$rc" -ne 1 ]; then
  echo "demo: expected doctor qa to find the missing trust statement and exit 1, got $rc" >&2
  exit 1
fi
echo "doctor exited 1, as expected: the trust policy of arn:aws:iam::555555555555:role/developer lacks the statement above"

bold "IAM Identity Center: one sign-in from rolevault itself, for every account you may use"
# The emulator plays IAM Identity Center; a scripted browser (e2e/internal/
# fakebrowser, installed as xdg-open) plays you: it opens the sign-in page
# and approves. Each tab it opens is one line in tabs.log.
export PATH="$TMP/bin:$PATH" FAKEBROWSER_LOG="$TMP/tabs.log"
tabs() { if [ -f "$TMP/tabs.log" ]; then wc -l <"$TMP/tabs.log" | tr -d ' '; else echo 0; fi; }
cat >>"$AWS_CONFIG_FILE" <<CONFIG

# IAM Identity Center: the person signs in once; roles in every account follow.
[sso-session corp]
sso_start_url = https://d-9067c0ffee.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile identity-sso]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = DeveloperAccess
region = eu-west-1

[profile dev-via-sso]
source_profile = identity-sso
role_arn = arn:aws:iam::222222222222:role/developer
region = us-east-1
CONFIG
sed -n '/^\[sso-session corp\]/,$p' "$AWS_CONFIG_FILE"
# The profiles above have no endpoint_url: IAM Identity Center's calls go
# where the SDK would send them, here the emulator.
export AWS_ENDPOINT_URL="$URL"
run "$BIN" explain dev-via-sso

bold "8 programs start at once on a cold machine (Terraform with 8 providers, make -j): one browser tab"
printf '$ for i in $(seq 8); do rolevault export --format=json dev-via-sso & done; wait\n'
for i in $(seq 8); do "$BIN" export --format=json dev-via-sso >"$TMP/sso.$i.json" 2>"$TMP/sso.$i.err" & PIDS+=($!); done
wait "${PIDS[@]: -8}"
ok=0; for i in $(seq 8); do grep -q '"AccessKeyId"' "$TMP/sso.$i.json" && ok=$((ok + 1)); done
echo "$ok of 8 got credentials; browser tabs opened: $(tabs); waiting messages: $(cat "$TMP"/sso.*.err | grep -c 'waiting for rolevault' || true)"

bold "rolevault sso profiles   (every account and role you may use, as profiles; --write appends them)"
run "$BIN" sso profiles
run "$BIN" sso profiles --write
run "$BIN" exec dev-ReadOnlyAccess -- "$TMP/sdkcaller"
echo "browser tabs opened in all: $(tabs)"

bold "rolevault list   (profiles, sessions, and the sign-in)"
run "$BIN" list

bold "rolevault sso logout   (ended at AWS, forgotten here; the next use signs in again)"
run "$BIN" sso logout

echo
echo "Done. Everything lived in $TMP, which is now removed."
