-- Shared by every scenario script: options, random ids, response checks and a JSON summary.
--
-- Options come after `--` on the wrk command line as key=value:
--   expect=200,204        statuses that count as success (anything else is an error)
--   body_prefix=[{        the response body must start with this (checked on successful statuses)
--   id_format=...%05d n=1000   ids are string.format(id_format, random 0..n-1)
--   header=Name: value    one extra header on every request of every script (e.g. Authorization: Bearer ...)
--   header2=Name: value   a second one (e.g. Toshi-Purpose: care-planning)
-- done() prints one line "BENCH_RESULT {json}" that bench/run.py parses.

local common = {}
local threads = {}

local function parse_args(args)
  local opts = {}
  for _, arg in ipairs(args) do
    local key, value = arg:match("^([^=]+)=(.*)$")
    if key then opts[key] = value end
  end
  return opts
end

local function status_set(text)
  local set = {}
  for code in (text or "200"):gmatch("%d+") do set[tonumber(code)] = true end
  return set
end

function common.random_id()
  return string.format(common.opts.id_format, math.random(0, common.n - 1))
end

function common.path_for(id)
  return (common.opts.path:gsub("{id}", id))
end

local function json_string(text)
  return '"' .. tostring(text):gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

local function json_object(fields)
  local parts = {}
  for key, value in pairs(fields) do
    local encoded = type(value) == "table" and json_object(value)
        or type(value) == "number" and string.format("%.17g", value)
        or json_string(value)
    table.insert(parts, json_string(key) .. ":" .. encoded)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- The `header=Name: value` option: every request the scripts build with wrk.format carries it.
local function add_header(option)
  local name, value = option:match("^%s*([^:]-)%s*:%s*(.-)%s*$")
  if not name or name == "" then error("header option must be 'Name: value', got " .. option) end
  local format = wrk.format
  wrk.format = function(method, path, headers, body)
    headers = headers or wrk.headers
    headers[name] = value
    return format(method, path, headers, body)
  end
end

-- Defines wrk's setup/init/response/done globals; `scenario_init(opts)` runs in each thread.
function common.install(scenario_init)
  function setup(thread)
    thread:set("thread_no", #threads)
    table.insert(threads, thread)
  end

  function init(args)
    common.opts = parse_args(args)
    common.n = tonumber(common.opts.n or "1")
    common.expected = status_set(common.opts.expect)
    common.body_prefix = common.opts.body_prefix
    bad_count = 0
    bad_statuses = {}
    bad_example = ""
    math.randomseed(os.time() + 7919 * (thread_no or 0))
    if common.opts.header then add_header(common.opts.header) end
    if common.opts.header2 then add_header(common.opts.header2) end
    if scenario_init then scenario_init(common.opts) end
  end

  function response(status, headers, body)
    local key = nil
    if not common.expected[status] then
      key = tostring(status)
    elseif common.body_prefix and (body == nil or body:sub(1, #common.body_prefix) ~= common.body_prefix) then
      key = tostring(status) .. " with unexpected body"
    end
    if key then
      bad_count = bad_count + 1
      bad_statuses[key] = (bad_statuses[key] or 0) + 1
      if bad_example == "" and body then bad_example = body:sub(1, 300) end
    end
  end

  function done(summary, latency, requests)
    local bad, statuses, example = 0, {}, ""
    for _, thread in ipairs(threads) do
      bad = bad + (thread:get("bad_count") or 0)
      for key, count in pairs(thread:get("bad_statuses") or {}) do
        statuses[key] = (statuses[key] or 0) + count
      end
      if example == "" then example = thread:get("bad_example") or "" end
    end
    local e = summary.errors
    local result = {
      requests = summary.requests, duration_us = summary.duration, bytes = summary.bytes,
      p50_us = latency:percentile(50), p90_us = latency:percentile(90), p99_us = latency:percentile(99),
      max_us = latency.max, mean_us = latency.mean,
      errors = {connect = e.connect, read = e.read, write = e.write, timeout = e.timeout, status = e.status},
      bad = bad, bad_statuses = statuses, bad_example = example,
    }
    io.write("BENCH_RESULT " .. json_object(result) .. "\n")
  end
end

-- A batch scenario: each request carries `size` new entities made from the string.format
-- `template` (its first three slots: tag, request counter, item number; then 6 random measures and a
-- lon/lat pair); `wrap(items)` turns the joined items into the request body.
function common.install_batch(template, wrap)
  local headers = {["Content-Type"] = "application/json"}
  local size, tag, counter = 100, "t", 0

  common.install(function(opts)
    size = tonumber(opts.size or "100")
    tag = (opts.tag or "t") .. "-" .. tostring(thread_no or 0)
  end)

  local function entity(n)
    return string.format(template, tag, counter, n, math.random(0, 200), math.random(0, 150),
      math.random(0, 80), math.random(0, 400) / 10, math.random(0, 100) / 100,
      135.4 + math.random() / 5, 34.8 + math.random() / 5)
  end

  function request()
    counter = counter + 1
    local items = {}
    for n = 1, size do items[n] = entity(n) end
    return wrk.format("POST", common.opts.path, headers, wrap(table.concat(items, ",")))
  end
end

return common
