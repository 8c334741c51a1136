-- wrk script for `npm run bench`: one request per call, `Authorization: Bearer <token>` with the
-- tokens of a file taken round-robin (one thread, so the order is global across connections).
-- usage: wrk ... -s tokens.lua URL -- METHOD TOKENS_FILE|- [MAX_TOKENS]
--   TOKENS_FILE "-" sends no Authorization header; MAX_TOKENS 0 uses every line of the file.
-- Requests are formatted once in init(); request() only returns the next one. done() prints one
-- line "WRKJSON {...}" for the driver (latencies in microseconds).
local reqs = {}
local n = 0
local i = 0

function init(args)
  local method = args[1] or "GET"
  local path = args[2] or "-"
  local limit = tonumber(args[3] or "0") or 0
  if path == "-" then
    n = 1
    reqs[1] = wrk.format(method, nil, {}, nil)
    return
  end
  local f = assert(io.open(path, "r"))
  for line in f:lines() do
    if #line > 0 then
      n = n + 1
      reqs[n] = wrk.format(method, nil, { ["Authorization"] = "Bearer " .. line }, nil)
      if limit > 0 and n >= limit then break end
    end
  end
  f:close()
  assert(n > 0, "no tokens in " .. path)
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
