-- POST a JSON body N times in all, from every connection of every thread in a closed
-- loop, then stop; the summary is one JSON line from done().
--
--   wrk -t T -c C -d <bound> -s post.lua URL -- N T BODY
--
-- BODY is the JSON body with "{n}" where a request's number goes, so each request
-- differs (the subject, say). wrk has no "stop after N", so each thread sends its share
-- of N and then hands every connection that asks for more an empty request, which sends
-- nothing, so that connection stays quiet (and stays so when the server closes it and
-- wrk reconnects). The thread stops once its share is answered; it says so on stderr
-- (and "answered" after each answer, so the caller sees a stall), and the caller then
-- interrupts wrk, whose main thread otherwise sleeps out the -d bound before done().

-- summary.lua sits beside this script; wrk loads the script by its path.
local write_summary = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "summary.lua")
local threads = {}

function setup(thread)
   thread:set("index", #threads)
   table.insert(threads, thread)
end

function init(args)
   local total = tonumber(args[1])
   count = tonumber(args[2])
   body = args[3]
   share = math.floor(total / count)
   if index < total % count then
      share = share + 1
   end
   delays, sent, answered = 0, 0, 0
   statuses = {}
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function delay()
   -- wrk calls delay() before each request it is about to send.
   delays = delays + 1
   return 0
end

function request()
   if delays == 0 then
      -- The request wrk builds at start-up only to check the script: never sent.
      return wrk.format(nil, nil, nil, (body:gsub("{n}", "0")))
   end
   if sent >= share then
      return ""
   end
   local n = sent * count + index
   sent = sent + 1
   return wrk.format(nil, nil, nil, (body:gsub("{n}", tostring(n))))
end

function response(status, headers, body)
   answered = answered + 1
   statuses[status] = (statuses[status] or 0) + 1
   if answered == share then
      io.stderr:write("bench-wrk-thread-done\n")
      wrk.thread:stop()
   else
      io.stderr:write("bench-wrk-answered\n")
   end
   io.stderr:flush()
end

function done(summary, latency, requests)
   write_summary(threads, summary, latency)
end
