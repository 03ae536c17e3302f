-- wrk: the FHIR benchmark's requests, by BENCH_MODE:
--   read-patient, read-appointment: GET of a random seeded resource;
--   search: Appointment?patient=<random>&date=ge<BENCH_DATE>&_include=Appointment:patient;
--   create: a conditional create of a new Patient (If-None-Exist on its
--   personnummer; each request a new one, so each creates).
-- BENCH_BASE is the FHIR base path ("/fhir/R4" or "/"), BENCH_HOST the Host
-- header, BENCH_TOKEN a bearer token (none if empty), BENCH_IDS a file of ids.
local mode = os.getenv("BENCH_MODE")
local base = os.getenv("BENCH_BASE"):gsub("/$", "")
local host = os.getenv("BENCH_HOST")
local token = os.getenv("BENCH_TOKEN") or ""
local date = os.getenv("BENCH_DATE") or ""
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do
  ids[#ids + 1] = line
end

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
  counter = 0
end

local function headers()
  local h = { ["Host"] = host, ["Accept"] = "application/fhir+json" }
  if token ~= "" then h["Authorization"] = "Bearer " .. token end
  return h
end

local function luhn(digits)
  local total = 0
  for i = 1, #digits do
    local p = tonumber(digits:sub(i, i)) * ((i % 2 == 1) and 2 or 1)
    total = total + math.floor(p / 10) + p % 10
  end
  return tostring((10 - total % 10) % 10)
end

-- A new valid personnummer per request: born 1960-1989, a serial 001-999;
-- distinct for each n below 10,069,920. BENCH_SEED keeps runs apart.
local seed = tonumber(os.getenv("BENCH_SEED") or "0")
local function personnummer()
  counter = counter + 1
  local n = seed + (tonumber(tid) or 0) * 1000000 + counter
  local year = 1960 + n % 30
  local month = 1 + math.floor(n / 30) % 12
  local day = 1 + math.floor(n / 360) % 28
  local serial = string.format("%03d", 1 + math.floor(n / 10080) % 999)
  local body = string.format("%02d%02d%02d%s", year % 100, month, day, serial)
  return string.format("%d%02d%02d%s%s", year, month, day, serial, luhn(body))
end

function request()
  local id = ids[math.random(#ids)]
  if mode == "read-patient" then
    return wrk.format("GET", base .. "/Patient/" .. id, headers())
  elseif mode == "read-appointment" then
    return wrk.format("GET", base .. "/Appointment/" .. id, headers())
  elseif mode == "search" then
    return wrk.format("GET", base .. "/Appointment?patient=Patient/" .. id .. "&date=ge" .. date
      .. "&_include=Appointment:patient", headers())
  elseif mode == "create" then
    local pnr = personnummer()
    local h = headers()
    h["Content-Type"] = "application/fhir+json"
    h["If-None-Exist"] = "identifier=http://electronichealth.se/identifier/personnummer|" .. pnr
    local body = '{"resourceType":"Patient","identifier":[{"system":"http://electronichealth.se/identifier/personnummer","value":"'
      .. pnr .. '"}],"name":[{"family":"Last","given":["Bench"]}],'
      .. '"telecom":[{"system":"phone","use":"mobile","value":"+46701234567"}]}'
    return wrk.format("POST", base .. "/Patient", h, body)
  end
  error("unknown BENCH_MODE " .. tostring(mode))
end
