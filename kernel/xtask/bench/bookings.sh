#!/usr/bin/env bash
# Booking benchmark: 100,000 bookings across 10 tenants, on SQLite and on
# PostgreSQL. Measures the clinician's Översikt and Mina bokningar (with a
# year of bookings behind them) and bookings created per second through the
# real invite form. Loopback only; every wrk run is bounded by BENCH_DURATION.
#
#   cargo xtask bench-bookings
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
here=$root/kernel/xtask/bench
duration=${BENCH_DURATION:-15s}
connections=${BENCH_CONNECTIONS:-32}
pg_admin=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export PGOPTIONS="-c client_min_messages=warning"

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
(cd "$root" && cargo build --quiet --release --package tillit-kernel --bin tillit)
bin=$root/target/release/tillit
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  psql "$pg_admin" -qc "DROP DATABASE IF EXISTS tillit_bench_bookings WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/tenants"
cp -r "$root/tenants/." "$work/tenants/"
now_ms=$(($(date +%s) * 1000))
python3 "$here/seed_bookings.py" "$work/tenants" "$now_ms" > "$work/seed.sql"

port=18091
base=http://127.0.0.1:$port
start_server() {
  TILLIT_DATABASE__URL=$1 TILLIT_SERVER__LISTEN=127.0.0.1:$port TILLIT_DATA_DIR=$work/data \
    TILLIT_TENANTS_DIR=$work/tenants TILLIT_THEMES_DIR=$root/themes TILLIT_LOG__FILTER=warn \
    "$bin" serve >/dev/null 2>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 1 2000); do
    curl -fsS -o /dev/null "$base/readyz" 2>/dev/null && return 0
    sleep 0.005
  done
  echo "tillit did not become ready" >&2; cat "$work/server.log" >&2; exit 1
}
stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=; }

# Logs in as Karin; sets session, csrf (of /bookings/new) and visit_type.
login_karin() {
  local jar=$work/jar page
  rm -f "$jar"
  csrf=$(curl -fsS -c "$jar" -H "Host: demo.localhost" "$base/login" | grep -o 'name="_csrf" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
  curl -fsS -o /dev/null -b "$jar" -c "$jar" -H "Host: demo.localhost" --data-urlencode "personnummer=198112189876" --data-urlencode "_csrf=$csrf" "$base/login/test"
  session=$(awk '$6 == "tillit_session" { print $7 }' "$jar")
  page=$(curl -fsS -b "$jar" -H "Host: demo.localhost" "$base/bookings/new")
  csrf=$(echo "$page" | grep -o 'name="_csrf" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
  visit_type=$(echo "$page" | grep -o '<option value="[^"]*"' | sed -n 's/<option value="\([^"]*\)"/\1/p' | grep -v '^$' | tail -1)
}

row() {
  local out=$1 label=$2 path=$3 rps p50 p99 errors
  rps=$(echo "$out" | awk '/Requests\/sec/ { printf "%.0f", $2 }')
  p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
  p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
  errors=$(echo "$out" | awk '/Non-2xx/ { print $5 }')
  printf '| %s | %s | `%s` | %s | %s | %s | %s |\n' "$backend" "$label" "$path" "$rps" "$p50" "$p99" "${errors:-0}"
}

echo "| database | what | path | requests/s | p50 | p99 | non-2xx/3xx |"
echo "|---|---|---|---:|---:|---:|---:|"
for backend in SQLite PostgreSQL; do
  if [ $backend = SQLite ]; then
    url="sqlite://$work/data/bookings.db"
  else
    psql "$pg_admin" -qc "DROP DATABASE IF EXISTS tillit_bench_bookings WITH (FORCE)" -c "CREATE DATABASE tillit_bench_bookings" >/dev/null
    url="${pg_admin%/*}/tillit_bench_bookings"
  fi
  start_server "$url"; stop_server   # migrate and create the bootstrap people
  if [ $backend = SQLite ]; then
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(open(sys.argv[2]).read()); c.commit()" "$work/data/bookings.db" "$work/seed.sql"
  else
    psql "${pg_admin%/*}/tillit_bench_bookings" -q -v ON_ERROR_STOP=1 -f "$work/seed.sql" >/dev/null
    psql "${pg_admin%/*}/tillit_bench_bookings" -qc "ANALYZE" >/dev/null
  fi
  start_server "$url"
  login_karin
  for page in / /bookings; do
    out=$(wrk -t2 -c"$connections" -d"$duration" --latency -H "Host: demo.localhost" -H "Cookie: tillit_session=$session" "$base$page")
    label=$([ "$page" = / ] && echo "Översikt (confirmed ahead)" || echo "Mina bokningar (all ahead)")
    row "$out" "$label" "$page"
  done
  out=$(BENCH_SESSION=$session BENCH_CSRF=$csrf BENCH_VISIT_TYPE=$visit_type \
    wrk -t2 -c"$connections" -d"$duration" --latency -s "$here/create_bookings.lua" "$base/bookings")
  row "$out" "bookings created (invite form)" "POST /bookings"
  stop_server
done
echo
echo "Seed: 10 tenants × 10,000 bookings (20 clinicians × 500, every 17.5 h over a year centred on now); the measured clinician has 500."
echo "wrk: 2 threads, $connections connections, $duration per row, on the same machine as the server."
