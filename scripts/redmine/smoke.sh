#!/usr/bin/env bash
# Drive Redmine's REST API with curl and check the facts scimgate's mappings/redmine.yaml relies on
# (status codes, JSON shapes, error texts, list filters, id reuse). Cleans up what it creates.
# Needs the environment from `eval "$(scripts/redmine/up.sh)"`. Last line: "N passed, M failed";
# exits non-zero on any failure.
set -euo pipefail
: "${REDMINE_URL:?run: eval \"\$(scripts/redmine/up.sh)\"}"
: "${REDMINE_API_KEY:?}" "${REDMINE_CF_EMPLOYEE_NUMBER:?}" "${REDMINE_CF_DEPARTMENT:?}"
URL=$REDMINE_URL
CF_EMP=$REDMINE_CF_EMPLOYEE_NUMBER
CF_DEP=$REDMINE_CF_DEPARTMENT

tmp=$(mktemp -d)
BODY=$tmp/body
HDR=$tmp/headers
CODE=
passed=0
failed=0
users=()   # ids this run created and still owns
groups=()

cleanup() {
  local id
  for id in "${users[@]}"; do
    if [ -n "$id" ]; then
      curl -sS -o /dev/null -X DELETE -H "X-Redmine-API-Key: $REDMINE_API_KEY" "$URL/users/$id.json" || true
    fi
  done
  for id in "${groups[@]}"; do
    if [ -n "$id" ]; then
      curl -sS -o /dev/null -X DELETE -H "X-Redmine-API-Key: $REDMINE_API_KEY" "$URL/groups/$id.json" || true
    fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

# req METHOD PATH [JSON]: one admin call; sets CODE, body in $BODY, headers in $HDR.
req() {
  local args=(-sS -o "$BODY" -D "$HDR" -w '%{http_code}' -X "$1" -H "X-Redmine-API-Key: $REDMINE_API_KEY")
  if [ $# -ge 3 ]; then args+=(-H 'Content-Type: application/json' --data-binary "$3"); fi
  CODE=$(curl "${args[@]}" "$URL$2") || CODE=000
}

# py EXPR: evaluate a Python expression over the last body (d: parsed JSON or None, raw: text).
py() {
  python3 - "$BODY" "$1" <<'PY'
import json, sys
raw = open(sys.argv[1], encoding="utf-8").read()
try:
    d = json.loads(raw) if raw.strip() else None
except ValueError:
    d = None
def cf(u, i):
    return next((f.get("value") for f in u.get("custom_fields", []) if f.get("id") == i), "<absent>")
v = eval(sys.argv[2])
print(v if not isinstance(v, bool) else ("true" if v else "false"))
PY
}

# expect NAME STATUS [PYEXPR]: pass when the status matches and PYEXPR (if given) is true.
expect() {
  local name=$1 want=$2 cond=${3:-True} ok=1 got
  [ "$CODE" = "$want" ] || ok=0
  if [ $ok = 1 ]; then
    got=$(py "$cond" 2>&1) || true
    [ "$got" = true ] || ok=0
  fi
  if [ $ok = 1 ]; then
    passed=$((passed + 1)); printf 'ok   %s\n' "$name"
  else
    failed=$((failed + 1)); printf 'FAIL %s: status %s (want %s), body: %s\n' "$name" "$CODE" "$want" "$(head -c 400 "$BODY")"
  fi
}

note() { printf '     %s\n' "$*"; }

sfx="$$$RANDOM"
L1="smoke$sfx-jdoe"
L2="smoke$sfx-jdoe2"
user_json() { # user_json LOGIN MAIL FIRST [EXTRA]
  printf '{"user":{"login":"%s","firstname":"%s","lastname":"Doe","mail":"%s"%s}}' "$1" "$3" "$2" "${4:-}"
}

# --- auth ---------------------------------------------------------------------------------------
CODE=$(curl -sS -o "$BODY" -D "$HDR" -w '%{http_code}' "$URL/users.json") || CODE=000
expect "no credentials: 401 with an empty body" 401 'raw == ""'

CODE=$(curl -sS -o "$BODY" -D "$HDR" -w '%{http_code}' -u admin:admin "$URL/users/current.json") || CODE=000
expect "Basic admin:admin works (must_change_passwd is off)" 200 "d['user']['login'] == 'admin'"

CODE=$(curl -sS -o "$BODY" -D "$HDR" -w '%{http_code}' -X POST -H "X-Redmine-API-Key: $REDMINE_API_KEY" \
  --data-binary '{"user":{"login":"x"}}' "$URL/users.json") || CODE=000
expect "a body without Content-Type: application/json gets 500 (always send it)" 500

req POST /users.json '{"user":'
expect "malformed JSON: 400 with an empty body" 400 'raw == ""'

req GET '/users.json?limit=1000'
expect "list limit is capped at 100" 200 "d['limit'] == 100"

# --- create -------------------------------------------------------------------------------------
req POST /users.json "$(user_json "$L1" "$L1@example.com" John ",\"custom_fields\":[{\"id\":$CF_EMP,\"value\":\"E-1001\"}]")"
expect "create user: 201 with the documented shape" 201 \
  "set(d['user']) >= {'id','login','admin','firstname','lastname','mail','created_on','updated_on','last_login_on','passwd_changed_on','api_key','status','custom_fields'} and d['user']['status'] == 1 and d['user']['login'] == '$L1'"
U1=$(py "d['user']['id'] if d else ''" 2>/dev/null || true); users+=("$U1")
expect "create user: custom_fields are [{id,name,value}] and employeeNumber was set" 201 \
  "cf(d['user'], $CF_EMP) == 'E-1001' and cf(d['user'], $CF_DEP) is None and all(set(f) == {'id','name','value'} for f in d['user']['custom_fields'])"

req GET "/users/$U1.json"
expect "GET user: 200, same shape, status 1" 200 "d['user']['id'] == $U1 and d['user']['status'] == 1 and 'api_key' in d['user']"

req POST /users.json "$(user_json "${L1^^}" "other$sfx@example.com" Jane)"
expect "duplicate login (other case): 422 Login has already been taken" 422 "d == {'errors': ['Login has already been taken']}"

req POST /users.json "$(user_json "other$sfx" "${L1^^}@EXAMPLE.COM" Jane)"
expect "duplicate mail (other case): 422 Email has already been taken" 422 "d == {'errors': ['Email has already been taken']}"

req POST /users.json '{"user":{"login":"smoke'"$sfx"'-blank"}}'
expect "missing required fields: 422 with the blank errors" 422 \
  "set(d['errors']) == {'Email cannot be blank','First name cannot be blank','Last name cannot be blank'}"

req POST /users.json "$(user_json "smoke$sfx a+b" "ab$sfx@example.com" Jane)"
expect "login with space and +: 422 Login is invalid" 422 "d == {'errors': ['Login is invalid']}"

req GET /users/99999999.json
expect "GET missing user: 404 with an empty body" 404 'raw == ""'

# --- list and ?name= ----------------------------------------------------------------------------
req POST /users.json "$(user_json "$L2" "$L2@example.com" Johnny)"
expect "create second user" 201
U2=$(py "d['user']['id'] if d else ''" 2>/dev/null || true); users+=("$U2")

req GET "/users.json?name=$L1"
expect "?name= is a substring match (both logins match the shorter one)" 200 \
  "d['total_count'] == 2 and sorted(u['login'] for u in d['users']) == sorted(['$L1', '$L2'])"
expect "list items omit status and api_key" 200 "all('status' not in u and 'api_key' not in u for u in d['users'])"
expect "list body has total_count, offset, limit" 200 "d['offset'] == 0 and d['limit'] == 25"

req GET "/users.json?name=${L2^^}"
expect "?name= ignores case" 200 "[u['id'] for u in d['users']] == [$U2]"

# --- update -------------------------------------------------------------------------------------
req PUT "/users/$U1.json" "{\"user\":{\"mail\":\"new$sfx@example.com\",\"custom_fields\":[{\"id\":$CF_DEP,\"value\":\"Engineering\"}]}}"
expect "PUT user: 204 with no body" 204 'raw == ""'
req GET "/users/$U1.json"
expect "PUT took effect: new mail, department set, employeeNumber kept" 200 \
  "d['user']['mail'] == 'new$sfx@example.com' and cf(d['user'], $CF_DEP) == 'Engineering' and cf(d['user'], $CF_EMP) == 'E-1001'"

req PUT "/users/$U1.json" '{"user":{"custom_fields":[{"id":99999,"value":"x"}]}}'
expect "PUT an unknown custom field id: 204, silently ignored" 204 'raw == ""'

req PUT "/users/$U2.json" "{\"user\":{\"mail\":\"new$sfx@example.com\"}}"
expect "PUT taken mail: 422 Email has already been taken" 422 "d == {'errors': ['Email has already been taken']}"

req PUT /users/99999999.json '{"user":{"firstname":"X"}}'
expect "PUT missing user: 404 with an empty body" 404 'raw == ""'

# --- lock / unlock ------------------------------------------------------------------------------
req PUT "/users/$U2.json" '{"user":{"status":3}}'
expect "lock (status 3): 204" 204 'raw == ""'
req GET "/users/$U2.json"
expect "locked user reads status 3" 200 "d['user']['status'] == 3"
req GET "/users.json?name=$L2"
expect "locked user hidden from the default list" 200 "d['total_count'] == 0 and d['users'] == []"
req GET "/users.json?name=$L2&status="
expect "locked user listed with status= (empty)" 200 "[u['id'] for u in d['users']] == [$U2]"
req GET "/users.json?name=$L1&status=3"
expect "status=3 lists only the locked user" 200 "[u['id'] for u in d['users']] == [$U2]"
req PUT "/users/$U2.json" '{"user":{"status":7}}'
expect "status 7: 422 Status is invalid" 422 "d == {'errors': ['Status is invalid']}"
req PUT "/users/$U2.json" '{"user":{"status":1}}'
expect "unlock (status 1): 204" 204 'raw == ""'
req GET "/users.json?name=$L2"
expect "unlocked user back in the default list" 200 "[u['id'] for u in d['users']] == [$U2]"

# --- groups -------------------------------------------------------------------------------------
G="Smoke $sfx"
req POST /groups.json "{\"group\":{\"name\":\"$G\"}}"
expect "create group: 201 {group:{id,name}}" 201 "set(d['group']) == {'id','name'} and d['group']['name'] == '$G'"
GID=$(py "d['group']['id'] if d else ''" 2>/dev/null || true); groups+=("$GID")
req POST /groups.json "{\"group\":{\"name\":\"$G\"}}"
expect "duplicate group name: 422 Name has already been taken" 422 "d == {'errors': ['Name has already been taken']}"
req POST "/groups/$GID/users.json" "{\"user_id\":$U1}"
expect "add member: 204" 204 'raw == ""'
req POST "/groups/$GID/users.json" "{\"user_id\":$U1}"
expect "add member again: 422 User is invalid" 422 "d == {'errors': ['User is invalid']}"
req GET "/groups/$GID.json?include=users"
expect "group include=users lists the member as {id,name}" 200 "d['group']['users'] == [{'id': $U1, 'name': 'John Doe'}]"
req GET "/users/$U1.json?include=groups"
expect "user include=groups lists the group" 200 "d['user']['groups'] == [{'id': $GID, 'name': '$G'}]"
req GET "/users.json?group_id=$GID"
expect "users?group_id= lists the member" 200 "[u['id'] for u in d['users']] == [$U1]"
req DELETE "/groups/$GID/users/$U1.json"
expect "remove member: 204" 204 'raw == ""'
req DELETE "/groups/$GID/users/$U1.json"
expect "remove a non-member: 204 as well" 204 'raw == ""'
req GET "/groups/$GID.json?include=users"
expect "group has no members after removal" 200 "d['group']['users'] == []"
req DELETE "/groups/$GID.json"
expect "delete group: 204" 204 'raw == ""'
groups=()
req GET "/groups/$GID.json"
expect "deleted group: 404 with an empty body" 404 'raw == ""'

# --- delete and id reuse ------------------------------------------------------------------------
req DELETE "/users/$U1.json"
expect "DELETE user: 204" 204 'raw == ""'
users=("$U2")
req GET "/users/$U1.json"
expect "deleted user: GET 404" 404 'raw == ""'
req DELETE "/users/$U1.json"
expect "deleted user: DELETE again 404" 404

req DELETE "/users/$U2.json"
expect "DELETE second user: 204" 204
users=()

# A freshly created user holds the highest principal id: delete it and create another.
req POST /users.json "$(user_json "smoke$sfx-first" "first$sfx@example.com" First)"
expect "create user A (highest id)" 201
UA=$(py "d['user']['id'] if d else ''" 2>/dev/null || true); users=("$UA")
req DELETE "/users/$UA.json"
expect "DELETE user A: 204" 204
users=()
req POST /users.json "$(user_json "smoke$sfx-second" "second$sfx@example.com" Second)"
UB=$(py "d['user']['id'] if d else ''" 2>/dev/null || true); users=("$UB")
note "id reuse: deleted user A had id $UA, the next created user B got id $UB"
expect "ids are reused after deleting the highest id (a stale id points to a new person)" 201 "d['user']['id'] == $UA"

cleanup_count=${#users[@]}
note "cleaning up $cleanup_count user(s)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
