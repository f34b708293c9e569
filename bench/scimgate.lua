-- wrk script for bench/run.sh: one scenario per run, chosen by the environment.
--   SCENARIO   filter | get | create | patch | group_add | big_group_get | big_group_add |
--              direct_filter | direct_get
--   TOKEN      the gateway's bearer token (gateway scenarios)
--   API_KEY    the example API's X-Api-Key (direct scenarios)
--   USERS      how many seeded users (ids 1..USERS, user{n}@example.com)
--   BASE       path prefix of the SCIM API (/scim/v2)
--   GROUP_ID   the group the group_add scenario adds members to
--   BIG_GROUP_ID  the 10,000-member group of big_group_get / big_group_add
--   RUN_TAG    makes created userNames unique across runs
-- At the end it prints one line `RESULT {json}` with the counts and latency percentiles (µs).

local scenario = os.getenv("SCENARIO") or "get"
local token = os.getenv("TOKEN") or ""
local api_key = os.getenv("API_KEY") or ""
local users = tonumber(os.getenv("USERS") or "1000")
local base = os.getenv("BASE") or "/scim/v2"
local group_id = os.getenv("GROUP_ID") or "1"
local run_tag = os.getenv("RUN_TAG") or "run"
local big_group_id = os.getenv("BIG_GROUP_ID") or "1"

local thread_counter = 0
function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("tid", thread_counter)
end

local counter = 0
function init(args)
  math.randomseed((tid or 1) * 7919 + os.time())
end

local scim_headers = {
  ["Authorization"] = "Bearer " .. token,
  ["Content-Type"] = "application/scim+json",
  ["Accept"] = "application/scim+json",
}
local direct_headers = { ["X-Api-Key"] = api_key, ["Accept"] = "application/json" }

local function user_id()
  return math.random(1, users)
end

local builders = {}

builders.filter = function()
  local path = base .. "/Users?filter=userName%20eq%20%22user" .. user_id() .. "%40example.com%22"
  return wrk.format("GET", path, scim_headers)
end

builders.get = function()
  return wrk.format("GET", base .. "/Users/" .. user_id(), scim_headers)
end

builders.create = function()
  local name = "bench-" .. run_tag .. "-" .. (tid or 1) .. "-" .. counter
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' .. name
    .. '","externalId":"ext-' .. run_tag .. "-" .. (tid or 1) .. "-" .. counter
    .. '","active":true,"displayName":"Bench User","name":{"givenName":"Bench","familyName":"User"},'
    .. '"emails":[{"primary":true,"type":"work","value":"' .. name .. '@example.com"}]}'
  return wrk.format("POST", base .. "/Users", scim_headers, body)
end

builders.patch = function()
  local active = (counter % 2 == 0) and "False" or "True"
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":['
    .. '{"op":"Replace","path":"active","value":"' .. active .. '"},'
    .. '{"op":"Replace","path":"name.familyName","value":"Family' .. counter .. '"},'
    .. '{"op":"Replace","path":"displayName","value":"Display ' .. counter .. '"}]}'
  return wrk.format("PATCH", base .. "/Users/" .. user_id(), scim_headers, body)
end

builders.group_add = function()
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":['
    .. '{"op":"Add","path":"members","value":[{"value":"' .. user_id() .. '"}]}]}'
  return wrk.format("PATCH", base .. "/Groups/" .. group_id, scim_headers, body)
end

-- GET of a 10,000-member group with its members (every page of the member list).
builders.big_group_get = function()
  return wrk.format("GET", base .. "/Groups/" .. big_group_id, scim_headers)
end

-- Adding one member to the 10,000-member group: one backend call, no member read.
builders.big_group_add = function()
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":['
    .. '{"op":"Add","path":"members","value":[{"value":"' .. user_id() .. '"}]}]}'
  return wrk.format("PATCH", base .. "/Groups/" .. big_group_id, scim_headers, body)
end

builders.direct_filter = function()
  return wrk.format("GET", "/api/v1/users?username=user" .. user_id() .. "%40example.com", direct_headers)
end

builders.direct_get = function()
  return wrk.format("GET", "/api/v1/users/" .. user_id(), direct_headers)
end

local build = builders[scenario]

function request()
  counter = counter + 1
  return build()
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,'
      .. '"errors_status":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, e.status, e.connect, e.read, e.write, e.timeout))
end
