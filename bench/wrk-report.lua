-- wrk script for bench/compare.sh: at the end, one JSON line with the
-- figures the report needs, labelled from the environment (WRK_LABEL).
local label = os.getenv("WRK_LABEL") or "unnamed"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"server":"%s","requests":%d,"duration_us":%d,"rps":%.1f,' ..
    '"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"errors":%d,"non2xx":%d}\n',
    label, summary.requests, summary.duration,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout, e.status))
end
