#!/usr/bin/env bash
# Portal load benchmark: wrk against the release `tillit` binary on SQLite and
# on PostgreSQL, plus start-up time to /readyz. Prints a Markdown table for
# BENCHMARKS.md. Loopback only; every run is bounded by BENCH_DURATION.
#
#   cargo xtask bench            (BENCH_DURATION=15s BENCH_CONNECTIONS=32 by default)
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
duration=${BENCH_DURATION:-15s}
connections=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
pg_admin=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export PGOPTIONS="-c client_min_messages=warning"

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
(cd "$root" && cargo build --quiet --release --package tillit-kernel --bin tillit)
bin=$root/target/release/tillit
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  psql "$pg_admin" -qc "DROP DATABASE IF EXISTS tillit_bench WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

port=18089
base=http://127.0.0.1:$port

# start_server DATABASE_URL: starts tillit, waits for /readyz, and sets
# server_pid and ready_ms (no subshell, so the pid is kept).
start_server() {
  local t0 t1
  t0=$(date +%s%N)
  TILLIT_DATABASE__URL=$1 TILLIT_SERVER__LISTEN=127.0.0.1:$port TILLIT_DATA_DIR=$work/data \
    TILLIT_TENANTS_DIR=$root/tenants TILLIT_THEMES_DIR=$root/themes TILLIT_LOG__FILTER=warn \
    "$bin" serve >/dev/null 2>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 1 2000); do
    if curl -fsS -o /dev/null "$base/readyz" 2>/dev/null; then
      t1=$(date +%s%N)
      ready_ms=$(( (t1 - t0) / 1000000 ))
      return 0
    fi
    sleep 0.005
  done
  echo "tillit did not become ready" >&2; cat "$work/server.log" >&2; exit 1
}

stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=; }

# login PNR: logs in through the test login and prints the session cookie value.
login() {
  local jar=$work/jar csrf
  rm -f "$jar"
  csrf=$(curl -fsS -c "$jar" -H "Host: demo.localhost" "$base/login" | grep -o 'name="_csrf" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
  curl -fsS -o /dev/null -b "$jar" -c "$jar" -H "Host: demo.localhost" --data-urlencode "personnummer=$1" --data-urlencode "_csrf=$csrf" "$base/login/test"
  awk '$6 == "tillit_session" { print $7 }' "$jar"
}

# measure LABEL PATH [COOKIE]: one wrk run; prints a table row.
measure() {
  local out rps p50 p99 errors
  local args=(-t"$threads" -c"$connections" -d"$duration" --latency -H "Host: demo.localhost")
  [ -n "${3:-}" ] && args+=(-H "Cookie: tillit_session=$3")
  out=$(wrk "${args[@]}" "$base$2")
  rps=$(echo "$out" | awk '/Requests\/sec/ { printf "%.0f", $2 }')
  p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
  p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
  errors=$(echo "$out" | awk '/Non-2xx/ { print $5 } /Socket errors/ { print "socket errors" }' | tr '\n' ' ')
  printf '| %s | %s | `%s` | %s | %s | %s | %s |\n' "$backend" "$1" "$2" "$rps" "$p50" "$p99" "${errors:-0}"
}

echo "| database | page | path | requests/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---:|---:|---:|---:|"
startup_rows=()
for backend in SQLite PostgreSQL; do
  if [ $backend = SQLite ]; then
    url="sqlite://$work/data/tillit.db"
  else
    psql "$pg_admin" -qc "DROP DATABASE IF EXISTS tillit_bench WITH (FORCE)" -c "CREATE DATABASE tillit_bench" >/dev/null
    url="${pg_admin%/*}/tillit_bench"
  fi
  start_server "$url"
  first=$ready_ms
  admin=$(login 19121212-1212)
  patient=$(login 20000229-2381)
  measure "landing page, anonymous" / ""
  measure "home, logged in" / "$admin"
  measure "own data, patient (writes access log)" /me "$patient"
  stop_server
  # Start-up to /readyz on an existing, migrated database.
  times=()
  for _ in 1 2 3 4 5 6 7 8 9 10; do start_server "$url"; times+=("$ready_ms"); stop_server; done
  sorted=$(printf '%s\n' "${times[@]}" | sort -n)
  startup_rows+=("| $backend | $first | $(echo "$sorted" | sed -n 5p) | $(echo "$sorted" | head -1) | $(echo "$sorted" | tail -1) |")
done
echo
echo "| database | first start (migrate + seed), ms | start to /readyz, median of 10, ms | min | max |"
echo "|---|---:|---:|---:|---:|"
printf '%s\n' "${startup_rows[@]}"
echo
echo "wrk: $threads threads, $connections connections, $duration per row, on the same machine as the server."
