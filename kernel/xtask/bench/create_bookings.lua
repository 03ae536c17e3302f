-- wrk: each request invites the same (after the first, matched) patient to a
-- distinct 15-minute slot far beyond the seeded bookings, through the real
-- form with the session cookie and CSRF token of a logged-in clinician.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local cookie = "tillit_session=" .. os.getenv("BENCH_SESSION")
local csrf = os.getenv("BENCH_CSRF")
local vt = os.getenv("BENCH_VISIT_TYPE")

function request()
  counter = counter + 1
  local n = tonumber(tid) * 10000000 + counter
  local day = 400 + math.floor(n / 40)
  local minute = (n % 40) * 15
  local date = os.date("!%Y-%m-%d", os.time() + day * 86400)
  local time = string.format("%02d:%02d", 8 + math.floor(minute / 60), minute % 60)
  local body = "who=new&phone=0701234567&personnummer=198507071119&given_name=Bench&family_name=Patient"
    .. "&visit_type_id=" .. vt .. "&date=" .. date .. "&time=" .. time .. "&_csrf=" .. csrf
  return wrk.format("POST", "/bookings", {
    ["Host"] = "demo.localhost",
    ["Cookie"] = cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end
