#!/usr/bin/env bash
# End to end against a real Redmine: starts Redmine on its pristine database (up.sh with
# REDMINE_RESET=1), starts `scimgate serve` in front of it with mappings/redmine.yaml, and replays
# the Entra provisioning flows over HTTP with curl, checking both the SCIM answers and what Redmine
# really holds. Stops scimgate and Redmine at the end.
#
#   scripts/redmine/e2e.sh target/debug/scimgate
#
# Last line: "N passed, M failed"; exits non-zero on any failure. Runs as root (like up.sh).
set -euo pipefail
BIN=${1:?usage: scripts/redmine/e2e.sh SCIMGATE_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
cp "$BIN" "$tmp/scimgate"   # a private copy: other builds may replace the binary meanwhile
began=$SECONDS
gateway_pid=

cleanup() {
  if [ -n "$gateway_pid" ]; then
    kill -TERM "$gateway_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true
  fi
  "$here/down.sh" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

eval "$(REDMINE_RESET=1 "$here/up.sh")"
URL=$REDMINE_URL

# The gateway: plain HTTP on a free loopback port, a known token, a fresh store.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TOKEN=e2e-$(python3 -c 'import uuid; print(uuid.uuid4().hex)')
cat >"$tmp/scimgate.yaml" <<EOF
server:
  listen: "127.0.0.1:$port"
  public_base_url: "http://127.0.0.1:$port"
  tls: { mode: none }
store:
  sqlite_path: "$tmp/store.sqlite3"
log:
  format: json
  level: info
tenants:
  - name: redmine
    mapping: "$root/mappings/redmine.yaml"
    auth:
      bearer:
        tokens_from_env: [SCIMGATE_E2E_TOKEN]
EOF
SCIMGATE_E2E_TOKEN=$TOKEN "$tmp/scimgate" serve --config "$tmp/scimgate.yaml" \
  >"$tmp/gateway.log" 2>&1 </dev/null &
gateway_pid=$!
SCIM=http://127.0.0.1:$port/scim/v2
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
  if ! kill -0 "$gateway_pid" 2>/dev/null; then
    echo "scimgate did not start:" >&2
    tail -20 "$tmp/gateway.log" >&2
    exit 1
  fi
  sleep 0.1
done

BODY=$tmp/body
CODE=
passed=0
failed=0

# scim METHOD PATH [JSON]: one SCIM call to the gateway; sets CODE, body in $BODY.
scim() {
  local args=(-sS -o "$BODY" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN")
  if [ $# -ge 3 ]; then
    args+=(-H 'Content-Type: application/scim+json' --data-binary "$3")
  fi
  CODE=$(curl "${args[@]}" "$SCIM$2")
}

# redmine METHOD PATH [JSON]: one admin call straight to Redmine; sets CODE, body in $BODY.
redmine() {
  local args=(-sS -o "$BODY" -w '%{http_code}' -X "$1" -H "X-Redmine-API-Key: $REDMINE_API_KEY")
  if [ $# -ge 3 ]; then
    args+=(-H 'Content-Type: application/json' --data-binary "$3")
  fi
  CODE=$(curl "${args[@]}" "$URL$2")
}

# get EXPR: a Python expression over the last body `b` (parsed JSON), printed.
get() {
  python3 - "$BODY" "$1" <<'PY'
import json, sys
try:
    with open(sys.argv[1]) as f:
        text = f.read()
    b = json.loads(text) if text.strip() else None
    v = eval(sys.argv[2], {"b": b})
except Exception as e:  # a missing key is a failed check, not a crash
    v = f"<{type(e).__name__}: {e}>"
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)
PY
}

# check NAME ACTUAL WANT
check() {
  if [ "$2" = "$3" ]; then
    passed=$((passed + 1))
    echo "ok   $1"
  else
    failed=$((failed + 1))
    echo "FAIL $1: got '$2', want '$3'"
    echo "     last body: $(head -c 400 "$BODY")"
  fi
}

# q TEXT: TEXT percent-encoded for a query string.
q() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

# redmine_id LOGIN: Redmine's id for a login (any status), or empty.
redmine_id() {
  redmine GET "/users.json?status=&name=$(q "$1")"
  get "[u['id'] for u in b['users'] if u['login'].lower() == '$1'.lower()][0]"
}

# user_body USERNAME EXTERNALID EMAIL: the create body Entra sends (entra-behaviour.md §1.4).
user_body() {
  cat <<EOF
{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
             "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
 "externalId": "$2", "userName": "$1", "active": true,
 "emails": [{"primary": true, "type": "work", "value": "$3"}],
 "meta": {"resourceType": "User"},
 "name": {"formatted": "Test Family", "familyName": "Family", "givenName": "Test"},
 "roles": [],
 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
   {"employeeNumber": "E-1001", "department": "Sales"}}
EOF
}

patch_body() {
  echo "{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"], \"Operations\": $1}"
}

filter() { scim GET "/Users?filter=$(q "$1")"; }

run=$(python3 -c 'import uuid; print(uuid.uuid4().hex[:8])')
A=e2e-$run@example.com
A_EXT=$(python3 -c 'import uuid; print(uuid.uuid4())')
B=pre-$A          # B's login contains A's: Redmine's name= matches both

echo "== probe"
filter "userName eq \"$(python3 -c 'import uuid; print(uuid.uuid4())')\""
check "probe filter answers 200" "$CODE" 200
check "probe filter finds nothing" "$(get "b['totalResults']")" 0

echo "== create"
filter "userName eq \"$A\""
check "filter before create finds nothing" "$(get "b['totalResults']")" 0
scim POST /Users "$(user_body "$A" "$A_EXT" "$A")"
check "create answers 201" "$CODE" 201
A_ID=$(get "b['id']")
check "create answers active true" "$(get "b['active']")" true
check "create answers the userName as sent" "$(get "b['userName']")" "$A"
check "create answers the employeeNumber" \
  "$(get "b['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']['employeeNumber']")" E-1001
A_RM=$(redmine_id "$A")
check "the SCIM id is not Redmine's id" "$([ "$A_ID" != "$A_RM" ] && echo yes)" yes
redmine GET "/users/$A_RM.json"
check "Redmine has the login" "$(get "b['user']['login']")" "$A"
check "Redmine has the names" "$(get "b['user']['firstname'] + ' ' + b['user']['lastname']")" "Test Family"
check "Redmine has the custom fields" \
  "$(get "sorted(f['value'] for f in b['user']['custom_fields'] if f['value'])")" '["E-1001", "Sales"]'
scim POST /Users "$(user_body "$B" "$(python3 -c 'import uuid; print(uuid.uuid4())')" "$B")"
check "create of a second user whose login contains the first" "$CODE" 201
B_ID=$(get "b['id']")

echo "== match"
filter "userName eq \"$A\""
check "userName filter is exact (not Redmine's substring)" "$(get "b['totalResults']")" 1
check "userName filter finds the user" "$(get "b['Resources'][0]['id']")" "$A_ID"
filter "userName eq \"$(echo "$A" | tr '[:lower:]' '[:upper:]')\""
check "userName filter ignores case" "$(get "b['totalResults']")" 1
filter "externalId eq \"$A_EXT\""
check "externalId filter finds the user" "$(get "[r['id'] for r in b['Resources']]")" "[\"$A_ID\"]"
filter "emails[type eq \"work\"].value eq \"$A\""
check "work email filter finds the user" "$(get "[r['id'] for r in b['Resources']]")" "[\"$A_ID\"]"

echo "== deactivate and reactivate"
scim PATCH "/Users/$A_ID" "$(patch_body '[{"op": "Replace", "path": "active", "value": "False"}]')"
check "PATCH active False answers 200" "$CODE" 200
check "PATCH answers active false" "$(get "b['active']")" false
redmine GET "/users/$A_RM.json"
check "Redmine locked the user (status 3)" "$(get "b['user']['status']")" 3
filter "userName eq \"$A\""
check "a deactivated user is still found by filter" "$(get "b['totalResults']")" 1
check "found with active false" "$(get "b['Resources'][0]['active']")" false
scim GET "/Users/$A_ID"
check "a deactivated user is still found by id" "$CODE" 200
check "read by id with active false" "$(get "b['active']")" false
scim PATCH "/Users/$A_ID" "$(patch_body '[{"op": "Replace", "path": "active", "value": "True"}]')"
check "PATCH active True answers active true" "$(get "b['active']")" true
redmine GET "/users/$A_RM.json"
check "Redmine unlocked the user (status 1)" "$(get "b['user']['status']")" 1

echo "== email change and custom fields"
NEW_MAIL=new-$run@example.com
scim PATCH "/Users/$A_ID" "$(patch_body "[{\"op\": \"Replace\", \"path\": \"emails[type eq \\\"work\\\"].value\", \"value\": \"$NEW_MAIL\"}]")"
check "email change answers 200" "$CODE" 200
check "email change keeps the SCIM id" "$(get "b['id']")" "$A_ID"
check "email change answers the new email" "$(get "b['emails'][0]['value']")" "$NEW_MAIL"
redmine GET "/users/$A_RM.json"
check "Redmine has the new mail" "$(get "b['user']['mail']")" "$NEW_MAIL"
ENT=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User
scim PATCH "/Users/$A_ID" "$(patch_body "[{\"op\": \"Replace\", \"path\": \"$ENT:department\", \"value\": \"Marketing\"},
  {\"op\": \"Replace\", \"path\": \"$ENT:employeeNumber\", \"value\": \"E-2002\"}]")"
check "custom field change answers 200" "$CODE" 200
scim GET "/Users/$A_ID"
check "custom fields round trip" "$(get "[b['$ENT']['employeeNumber'], b['$ENT']['department']]")" '["E-2002", "Marketing"]'
redmine GET "/users/$A_RM.json"
check "Redmine has the custom fields" \
  "$(get "{f['id']: f['value'] for f in b['user']['custom_fields']} == {$REDMINE_CF_EMPLOYEE_NUMBER: 'E-2002', $REDMINE_CF_DEPARTMENT: 'Marketing'}")" true

echo "== groups"
G=e2e-group-$run
scim POST /Groups "{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:Group\"], \"displayName\": \"$G\", \"externalId\": \"g-$run\", \"members\": []}"
check "group create answers 201" "$CODE" 201
G_ID=$(get "b['id']")
scim GET "/Groups?filter=$(q "displayName eq \"$G\"")&excludedAttributes=members"
check "group filter by displayName" "$(get "[r['id'] for r in b['Resources']]")" "[\"$G_ID\"]"
redmine GET "/groups.json"
G_RM=$(get "[g['id'] for g in b['groups'] if g['name'] == '$G'][0]")
scim PATCH "/Groups/$G_ID" "$(patch_body "[{\"op\": \"Add\", \"path\": \"members\", \"value\": [{\"value\": \"$A_ID\"}, {\"value\": \"$B_ID\"}]}]")"
check "add 2 members answers 204" "$CODE" 204
redmine GET "/groups/$G_RM.json?include=users"
check "Redmine has 2 members" "$(get "len(b['group']['users'])")" 2
# Entra sends Add for members already in the group; Redmine answers 422 "User is invalid".
scim PATCH "/Groups/$G_ID" "$(patch_body "[{\"op\": \"Add\", \"path\": \"members\", \"value\": [{\"value\": \"$A_ID\"}]}]")"
check "re-adding a member answers 204" "$CODE" 204
redmine GET "/groups/$G_RM.json?include=users"
check "Redmine has the member once, the group still 2" \
  "$(get "[[u['id'] for u in b['group']['users']].count($A_RM), len(b['group']['users'])]")" "[1, 2]"
scim PATCH "/Groups/$G_ID" "$(patch_body "[{\"op\": \"Remove\", \"path\": \"members[value eq \\\"$B_ID\\\"]\"}]")"
check "remove 1 member answers 204" "$CODE" 204
redmine GET "/groups/$G_RM.json?include=users"
check "Redmine keeps the other member" "$(get "[u['id'] for u in b['group']['users']]")" "[$A_RM]"
scim GET "/Groups/$G_ID"
check "the group lists its member by SCIM id" "$(get "[m['value'] for m in b['members']]")" "[\"$A_ID\"]"
scim PATCH "/Groups/$G_ID" "$(patch_body "[{\"op\": \"Replace\", \"path\": \"displayName\", \"value\": \"$G-renamed\"}]")"
check "rename answers 204" "$CODE" 204
scim GET "/Groups/$G_ID"
check "the group has the new name" "$(get "b['displayName']")" "$G-renamed"
redmine GET "/groups/$G_RM.json"
check "Redmine has the new name" "$(get "b['group']['name']")" "$G-renamed"
scim DELETE "/Groups/$G_ID"
check "group delete answers 204" "$CODE" 204
scim GET "/Groups/$G_ID"
check "a deleted group is 404" "$CODE" 404

echo "== refusals"
scim POST /Users "$(user_body "$A" "$(python3 -c 'import uuid; print(uuid.uuid4())')" "other-$run@example.com")"
check "duplicate userName answers 409" "$CODE" 409
check "duplicate userName is uniqueness" "$(get "b['scimType']")" uniqueness
C=direct-$run@example.com
redmine POST /users.json "{\"user\": {\"login\": \"$C\", \"firstname\": \"Di\", \"lastname\": \"Rect\", \"mail\": \"$C\"}}"
check "a user made directly in Redmine" "$CODE" 201
scim POST /Users "$(user_body "$(echo "$C" | tr '[:lower:]' '[:upper:]')" "$(python3 -c 'import uuid; print(uuid.uuid4())')" "c2-$run@example.com")"
check "a login Redmine already has answers 409" "$CODE" 409
check "Redmine's 422 'has already been taken' is uniqueness" "$(get "b['scimType']")" uniqueness
scim POST /Users "$(user_body "bad login $run" "$(python3 -c 'import uuid; print(uuid.uuid4())')" "bad-$run@example.com")"
check "an invalid login answers 400" "$CODE" 400
check "with invalidValue and Redmine's message" "$(get "[b['scimType'], 'Login is invalid' in b['detail']]")" '["invalidValue", true]'

echo "== delete"
scim DELETE "/Users/$B_ID"
check "delete answers 204" "$CODE" 204
scim GET "/Users/$B_ID"
check "a deleted user is 404" "$CODE" 404
filter "userName eq \"$B\""
check "a deleted user is not found by filter" "$(get "b['totalResults']")" 0

echo "== id reuse"
D=reuse-d-$run@example.com
scim POST /Users "$(user_body "$D" "$(python3 -c 'import uuid; print(uuid.uuid4())')" "$D")"
D_ID=$(get "b['id']")
D_RM=$(redmine_id "$D")
redmine DELETE "/users/$D_RM.json"
check "the newest user deleted in Redmine directly" "$CODE" 204
E=reuse-e-$run@example.com
scim POST /Users "$(user_body "$E" "$(python3 -c 'import uuid; print(uuid.uuid4())')" "$E")"
check "the next create through the gateway" "$CODE" 201
E_ID=$(get "b['id']")
check "Redmine reused the deleted user's id" "$(redmine_id "$E")" "$D_RM"
check "the new user has a new SCIM id" "$([ "$E_ID" != "$D_ID" ] && echo yes)" yes
scim GET "/Users/$D_ID"
check "the deleted user's SCIM id stays 404" "$CODE" 404
scim GET "/Users/$E_ID"
check "the new user reads as itself" "$(get "b['userName']")" "$E"
# The same, with the newcomer created in Redmine directly: only the identity check can tell.
F=reuse-f-$run@example.com
scim POST /Users "$(user_body "$F" "$(python3 -c 'import uuid; print(uuid.uuid4())')" "$F")"
F_ID=$(get "b['id']")
F_RM=$(redmine_id "$F")
redmine DELETE "/users/$F_RM.json"
sleep 1.1   # Redmine's created_on has whole seconds
H=reuse-h-$run@example.com
redmine POST /users.json "{\"user\": {\"login\": \"$H\", \"firstname\": \"Ha\", \"lastname\": \"Direct\", \"mail\": \"$H\"}}"
check "Redmine reused the id for a user made directly" "$(get "b['user']['id']")" "$F_RM"
scim GET "/Users/$F_ID"
check "the deleted user's SCIM id is 404, not the newcomer" "$CODE" 404
scim PATCH "/Users/$F_ID" "$(patch_body '[{"op": "Replace", "path": "active", "value": "False"}]')"
check "a PATCH on it is 404 too" "$CODE" 404
redmine GET "/users/$F_RM.json"
check "and the newcomer was not touched" "$(get "b['user']['status']")" 1
filter "userName eq \"$H\""
check "the newcomer is found by filter" "$(get "b['totalResults']")" 1
check "under a SCIM id of its own" "$(get "b['Resources'][0]['id'] != '$F_ID'")" true

echo "== group id reuse"
# Redmine groups carry no timestamp: the mapping's identity is the (unique) group name.
group_body() { echo "{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:Group\"], \"displayName\": \"$1\", \"members\": []}"; }
redmine_group_id() {
  redmine GET "/groups.json"
  get "[g['id'] for g in b['groups'] if g['name'] == '$1'][0]"
}
GA=e2e-reuse-a-$run
scim POST /Groups "$(group_body "$GA")"
GA_ID=$(get "b['id']")
GA_RM=$(redmine_group_id "$GA")
redmine DELETE "/groups/$GA_RM.json"
check "the newest group deleted in Redmine directly" "$CODE" 204
GB=e2e-reuse-b-$run
redmine POST /groups.json "{\"group\": {\"name\": \"$GB\"}}"
check "Redmine reused the id for a group made directly" "$(get "b['group']['id']")" "$GA_RM"
scim GET "/Groups/$GA_ID"
check "the deleted group's SCIM id is 404, not the newcomer" "$CODE" 404
scim PATCH "/Groups/$GA_ID" "$(patch_body "[{\"op\": \"Add\", \"path\": \"members\", \"value\": [{\"value\": \"$E_ID\"}]}]")"
check "a member add on it is 404 too" "$CODE" 404
redmine GET "/groups/$GA_RM.json?include=users"
check "and the newcomer got no member" "$(get "len(b['group']['users'])")" 0
scim GET "/Groups?filter=$(q "displayName eq \"$GB\"")&excludedAttributes=members"
check "the newcomer group is found by filter" "$(get "b['totalResults']")" 1
check "under a SCIM id of its own" "$(get "b['Resources'][0]['id'] != '$GA_ID'")" true
GB_ID=$(get "b['Resources'][0]['id']")
redmine DELETE "/groups/$GA_RM.json"
GC=e2e-reuse-c-$run
scim POST /Groups "$(group_body "$GC")"
check "the next group create through the gateway" "$CODE" 201
GC_ID=$(get "b['id']")
check "Redmine reused the id again" "$(redmine_group_id "$GC")" "$GA_RM"
check "the new group has a new SCIM id" "$([ "$GC_ID" != "$GB_ID" ] && [ "$GC_ID" != "$GA_ID" ] && echo yes)" yes
scim GET "/Groups/$GB_ID"
check "the deleted group's SCIM id stays 404" "$CODE" 404
scim GET "/Groups/$GC_ID"
check "the new group reads as itself" "$(get "b['displayName']")" "$GC"
scim DELETE "/Groups/$GC_ID"
check "group delete answers 204" "$CODE" 204

echo "== delete the first user"
scim DELETE "/Users/$A_ID"
check "delete answers 204" "$CODE" 204
scim GET "/Users/$A_ID"
check "GET after delete is 404" "$CODE" 404
filter "userName eq \"$A\""
check "filter after delete finds nothing" "$(get "b['totalResults']")" 0
redmine GET "/users/$A_RM.json"
check "Redmine no longer has the user" "$CODE" 404

if [ "$failed" -ne 0 ]; then
  echo "--- scimgate log (tail)"
  tail -20 "$tmp/gateway.log"
fi
echo "runtime: $((SECONDS - began)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
