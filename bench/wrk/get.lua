-- GET random paths from a file (one path a line) for the -d duration, from every
-- connection in a closed loop; the summary is one JSON line from done().
--
--   wrk -t T -c C -d <seconds> -s get.lua URL -- PATHS_FILE

-- summary.lua sits beside this script; wrk loads the script by its path.
local write_summary = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "summary.lua")
local threads = {}

function setup(thread)
   thread:set("index", #threads)
   table.insert(threads, thread)
end

function init(args)
   paths = {}
   for line in io.lines(args[1]) do
      table.insert(paths, line)
   end
   -- Each thread its own sequence, the same from run to run.
   math.randomseed(7 + index)
   statuses = {}
end

function request()
   return wrk.format("GET", paths[math.random(#paths)])
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   write_summary(threads, summary, latency)
end
