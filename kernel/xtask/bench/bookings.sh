#!/usr/bin/env bash
# Booking benchmark: 100,000 bookings across 10 tenants, on SQLite and on
# PostgreSQL. Measures the clinician's Översikt and Mina bokningar (with a
# year of bookings behind them) and bookings created per second through the
# real invite form. Loopback only; every wrk run is bounded by BENCH_DURATION.
#
#   cargo xtask bench-bookings
bench_db=tillit_bench_bookings
port=18091
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
here=$root/kernel/xtask/bench

tenants_dir=$work/tenants
mkdir -p "$tenants_dir"
cp -r "$root/tenants/." "$tenants_dir/"
now_ms=$(($(date +%s) * 1000))
python3 "$here/seed_bookings.py" "$tenants_dir" "$now_ms" > "$work/seed.sql"

# Logs in as Karin; sets session, csrf (of /bookings/new) and visit_type.
login_karin() {
  local page
  session=$(login 198112189876)
  page=$(curl -fsS -b "$work/jar" -H "Host: demo.localhost" "$base/bookings/new")
  csrf=$(echo "$page" | csrf_in)
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
