#!/usr/bin/env bash
# HTTP search under load while rebuilds run: wrk on loopback against `projector serve --demo`.
#
#   swift build -c release --scratch-path .build-release --product projector
#   bash Tests/Benchmarks/http-search.sh [.build-release/release/projector] [seconds] [rebuild-every-seconds] [wrk|exact]
#
# Prints wrk's requests/s and latency percentiles, and how many rebuilds of the index went live
# during the run; the in-process engine time per query is in the responses' tookMs. `exact` runs
# Tests/Benchmarks/latency-client.c instead of wrk: the same load, every request's own latency.
set -euo pipefail
binary="$(realpath "${1:-.build-release/release/projector}")"
seconds="${2:-20}"
every="${3:-1}"   # seconds between rebuild requests
client="${4:-wrk}"
client_source="$(realpath "$(dirname "$0")/latency-client.c")"
work="$(mktemp -d)"
trap 'kill ${server:-} 2>/dev/null || true; rm -rf "$work"' EXIT
if [ "$client" = exact ]; then
  cc -O2 -o "$work/latency-client" "$client_source"
else
  command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
fi
cd "$work"
export PROJECTOR_ADMIN_TOKEN=bench
"$binary" serve --demo --port 0 2> serve.log &
server=$!
for _ in $(seq 1 600); do grep -q "listening on" serve.log 2>/dev/null && break; sleep 0.1; done
port="$(grep -o 'listening on http://127.0.0.1:[0-9]*' serve.log | grep -o '[0-9]*$')"
url="http://127.0.0.1:$port"
until curl -sf "$url/health" >/dev/null; do sleep 0.2; done

for q in vim text%20editor lib python3 compression editor gnu x11 font kernel libr documentation sql \
  network%20tool compresion; do
  echo "/v1/search/packages?q=$q&limit=10"
done > paths.txt
cat > queries.lua <<'LUA'
local paths = {}
for line in io.lines("paths.txt") do paths[#paths + 1] = line end
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end
LUA

# Warm-up, not measured: the first burst on a freshly started server opens SQLite connections
# and fills the cache (its slowest request is printed here; about 0.2 s on 2 cores).
if [ "$client" = exact ]; then
  "$work/latency-client" "$port" 32 2 paths.txt | sed 's/^/warm-up: /'
else
  wrk -t2 -c32 -d2s -s queries.lua "$url" | grep -E "Latency|Requests/sec" | sed 's/^/warm-up: /'
fi

# Rebuild the index over and over while the load runs.
(
  end=$((SECONDS + seconds))
  while [ $SECONDS -lt $end ]; do
    curl -sf -X POST -H "Authorization: Bearer bench" "$url/v1/projections/packages/rebuild" >/dev/null || true
    sleep "$every"
  done
) &
rebuilder=$!
if [ "$client" = exact ]; then
  "$work/latency-client" "$port" 32 "$seconds" paths.txt
else
  wrk -t2 -c32 -d"${seconds}s" --latency -s queries.lua "$url"
fi
wait $rebuilder || true
generation="$(cat .projector/stores/packages.generations.json 2>/dev/null || echo '{}')"
echo "packages generations after the run: $generation"
