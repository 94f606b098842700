-- wrk script for bench/compare.sh: at the end, one JSON line with the
-- figures the report needs, labelled from the environment: WRK_LABEL (the
-- server), WRK_TEST (the load: h1, https-h1, h1-close, https-close) and
-- WRK_ROUND.
local label = os.getenv("WRK_LABEL") or "unnamed"
local test = os.getenv("WRK_TEST") or "h1"
local round = tonumber(os.getenv("WRK_ROUND") or "0") or 0

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"test":"%s","server":"%s","round":%d,"requests":%d,"duration_us":%d,"rps":%.1f,' ..
    '"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"errors":%d,"non2xx":%d}\n',
    test, label, round, summary.requests, summary.duration,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout, e.status))
end
