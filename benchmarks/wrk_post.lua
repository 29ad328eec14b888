-- wrk script for serve.py and serve_image.py: POSTs bodies and reports the run as one JSON line.
--   wrk -t1 -c8 -d10s -s wrk_post.lua http://127.0.0.1:PORT/predict -- '{"text": "..."}' ...
--   wrk ... -- content-type=image/jpeg @/tmp/a.jpg @/tmp/b.jpg
-- Every argument after `--` is one ready-made body (JSON by default), or `@PATH` for a file's bytes
-- (binary bodies cannot travel as arguments); `content-type=TYPE` first sets the bodies' type.
-- Each connection cycles through the bodies.
-- Requests are formatted once in init(): formatting per request would cost wrk CPU that, on a
-- 2-core machine, comes straight out of the server's share.

local requests = {}
local next_index = 0

local function read_file(path)
    local file = assert(io.open(path, "rb"))
    local data = file:read("*a")
    file:close()
    return data
end

function init(args)
    local headers = { ["Content-Type"] = "application/json" }
    for _, arg in ipairs(args) do
        if arg:sub(1, 13) == "content-type=" then
            headers["Content-Type"] = arg:sub(14)
        else
            local body = arg:sub(1, 1) == "@" and read_file(arg:sub(2)) or arg
            requests[#requests + 1] = wrk.format("POST", nil, headers, body)
        end
    end
    if #requests == 0 then
        requests[1] = wrk.format("POST", nil, headers, '{"text": "I love this product!"}')
    end
end

function request()
    next_index = next_index % #requests + 1
    return requests[next_index]
end

-- No response() hook: defining one makes wrk hand every response to Lua. Errors come from the
-- summary instead: errors.status counts HTTP status > 399, the rest are socket-level.
function done(summary, latency, _)
    local e = summary.errors
    io.write(string.format(
        'WRK_JSON {"duration_us": %d, "requests": %d, "bytes": %d, ' ..
        '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, ' ..
        '"p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
        summary.duration, summary.requests, summary.bytes,
        e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
