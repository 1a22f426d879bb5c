#!/usr/bin/env sh
# Signs in (with a second factor when the account has one), lists the cases the
# user may see and prints the timeline of the first. Needs curl and node.
#   EMAIL=cw@example.org sh docs/examples/sign-in-and-list-cases.sh
# The password is read from standard input; API defaults to a local server.
set -eu
API="${API:-http://127.0.0.1:3000}"
: "${EMAIL:?set EMAIL}"
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];console.log(v===undefined?"":typeof v==="object"?JSON.stringify(v):v)})' "$1"; }
body() { node -e 'console.log(JSON.stringify(Object.fromEntries(process.argv.slice(1).map(a=>a.split(/=(.*)/s).slice(0,2)))))' "$@"; }

printf 'Password for %s: ' "$EMAIL" >&2
stty -echo 2>/dev/null || true
read -r PASSWORD
stty echo 2>/dev/null || true
echo >&2

LOGIN=$(curl -sS "$API/v1/auth/login" -H 'Content-Type: application/json' \
  -d "$(body "email=$EMAIL" "password=$PASSWORD")")
if [ "$(echo "$LOGIN" | json mfaRequired)" = "true" ]; then
  printf 'Code from your authenticator app (or a recovery code): ' >&2
  read -r CODE
  LOGIN=$(curl -sS "$API/v1/auth/mfa" -H 'Content-Type: application/json' \
    -d "$(body "mfaToken=$(echo "$LOGIN" | json mfaToken)" "code=$CODE")")
fi
TOKEN=$(echo "$LOGIN" | json accessToken)
if [ -z "$TOKEN" ]; then echo "$LOGIN" >&2; exit 1; fi
[ "$(echo "$LOGIN" | json mfaEnrolmentRequired)" = "true" ] && echo 'Enrol a second factor first (/v1/me/mfa).' >&2
[ "$(echo "$LOGIN" | json passwordChangeRequired)" = "true" ] && echo 'Change your password first (POST /v1/me/password).' >&2

CASES=$(curl -sS "$API/v1/cases?limit=10" -H "Authorization: Bearer $TOKEN")
echo "$CASES"
FIRST=$(echo "$CASES" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).items?.[0]?.id ?? ""))')
if [ -n "$FIRST" ]; then
  curl -sS "$API/v1/cases/$FIRST/timeline" -H "Authorization: Bearer $TOKEN"
  echo
fi
