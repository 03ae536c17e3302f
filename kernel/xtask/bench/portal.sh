#!/usr/bin/env bash
# Portal load benchmark: wrk against the release `tillit` binary on SQLite and
# on PostgreSQL, plus start-up time to /readyz. Prints a Markdown table for
# BENCHMARKS.md. Loopback only; every run is bounded by BENCH_DURATION.
#
#   cargo xtask bench            (BENCH_DURATION=15s BENCH_CONNECTIONS=32 by default)
bench_db=tillit_bench
port=18089
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

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
