-- The one JSON line post.lua and get.lua end with: status counts gathered from every
-- thread's `statuses` table, socket errors, and wrk's latency percentiles (microseconds).

return function(threads, summary, latency)
   local statuses = {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         statuses[status] = (statuses[status] or 0) + n
      end
   end
   local counted = {}
   for status, n in pairs(statuses) do
      table.insert(counted, string.format('"%d":%d', status, n))
   end
   local errors = summary.errors
   io.write(string.format(
      'bench-wrk-summary {"requests":%d,"duration_us":%d,"statuses":{%s},' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%.1f,"p90":%.1f,"p99":%.1f,"max":%.1f,"mean":%.1f}}\n',
      summary.requests, summary.duration, table.concat(counted, ","),
      errors.connect, errors.read, errors.write, errors.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
