-- wrk script: GET (the default request); print a JSON summary line when done, like make_lua.py's.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_s": %.3f, "rps": %.1f, "p50_ms": %.3f, "p99_ms": %.3f, "non2xx": %d, "socket_errors": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, e.status,
    e.connect + e.read + e.write + e.timeout, e.connect, e.read, e.write, e.timeout))
end
