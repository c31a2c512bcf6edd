#!/usr/bin/env bash
# HTTP search under load while rebuilds run: wrk on loopback against `projector serve --demo`.
#
#   swift build -c release --scratch-path .build-release --product projector
#   bash Tests/Benchmarks/http-search.sh [.build-release/release/projector] [seconds] [rebuild-every-seconds]
#
# Prints wrk's requests/s and latency percentiles, and how many rebuilds of the index went live
# during the run; the in-process engine time per query is in the responses' tookMs.
set -euo pipefail
binary="$(realpath "${1:-.build-release/release/projector}")"
seconds="${2:-20}"
every="${3:-1}"   # seconds between rebuild requests
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
work="$(mktemp -d)"
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
export PROJECTOR_ADMIN_TOKEN=bench
"$binary" serve --demo --port 0 2> serve.log &
server=$!
for _ in $(seq 1 600); do grep -q "listening on" serve.log 2>/dev/null && break; sleep 0.1; done
port="$(grep -o 'listening on http://127.0.0.1:[0-9]*' serve.log | grep -o '[0-9]*$')"
url="http://127.0.0.1:$port"
until curl -sf "$url/health" >/dev/null; do sleep 0.2; done

cat > queries.lua <<'LUA'
local queries = { "vim", "text%20editor", "lib", "python3", "compression", "editor", "gnu", "x11", "font",
  "kernel", "libr", "documentation", "sql", "network%20tool", "compresion" }
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/v1/search/packages?q=" .. queries[(n % #queries) + 1] .. "&limit=10")
end
LUA

# Rebuild the index over and over while the load runs.
(
  end=$((SECONDS + seconds))
  while [ $SECONDS -lt $end ]; do
    curl -sf -X POST -H "Authorization: Bearer bench" "$url/v1/projections/packages/rebuild" >/dev/null || true
    sleep "$every"
  done
) &
rebuilder=$!
wrk -t2 -c32 -d"${seconds}s" --latency -s queries.lua "$url" | tee wrk.txt
wait $rebuilder || true
generation="$(cat .projector/stores/packages.generations.json 2>/dev/null || echo '{}')"
echo "packages generations after the run: $generation"
