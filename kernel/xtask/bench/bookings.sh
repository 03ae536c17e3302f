#!/usr/bin/env bash
# Booking benchmark: 100,000 bookings across 10 tenants, on SQLite and on
# PostgreSQL. Measures the clinician's Översikt and Mina bokningar (with a
# year of bookings behind them) and bookings created per second through the
# real invite form, and reminder lateness: 3,000 reminders fall due while the
# load runs; how long after its due time each leaves. Loopback only; every
# wrk run is bounded by BENCH_DURATION.
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

# apply_sql FILE: runs SQL against the current backend's database.
apply_sql() {
  if [ $backend = SQLite ]; then
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=30); c.executescript(open(sys.argv[2]).read()); c.commit()" "$work/data/bookings.db" "$1"
  else
    psql "${pg_admin%/*}/tillit_bench_bookings" -q -v ON_ERROR_STOP=1 -f "$1" >/dev/null
  fi
}

# query SQL: one value per line.
query() {
  if [ $backend = SQLite ]; then
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=30); [print(*r, sep='|') for r in c.execute(sys.argv[2])]" "$work/data/bookings.db" "$1"
  else
    psql "${pg_admin%/*}/tillit_bench_bookings" -At -c "$1"
  fi
}

lateness=()
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
  apply_sql "$work/seed.sql"
  [ $backend = PostgreSQL ] && psql "${pg_admin%/*}/tillit_bench_bookings" -qc "ANALYZE" >/dev/null
  start_server "$url"
  login_karin
  # Reminders due from 3 s from now, while the load below runs.
  python3 "$here/seed_bookings.py" --reminders "$(($(date +%s%N) / 1000000))" > "$work/reminders.sql"
  apply_sql "$work/reminders.sql"
  for page in / /bookings; do
    out=$(wrk -t2 -c"$connections" -d"$duration" --latency -H "Host: demo.localhost" -H "Cookie: tillit_session=$session" "$base$page")
    label=$([ "$page" = / ] && echo "Översikt (confirmed ahead)" || echo "Mina bokningar (all ahead)")
    row "$out" "$label" "$page"
  done
  out=$(BENCH_SESSION=$session BENCH_CSRF=$csrf BENCH_VISIT_TYPE=$visit_type \
    wrk -t2 -c"$connections" -d"$duration" --latency -s "$here/create_bookings.lua" "$base/bookings")
  row "$out" "bookings created (invite form)" "POST /bookings"
  # Wait (at most 3 minutes) until every reminder has left.
  for _ in $(seq 1 180); do
    left=$(query "SELECT COUNT(*) FROM notifications WHERE id LIKE 'bench-r-%' AND status IN ('scheduled', 'queued')")
    [ "$left" = 0 ] && break
    sleep 1
  done
  lateness+=("$(query "SELECT sent_at - due_at FROM notifications WHERE id LIKE 'bench-r-%' AND status = 'sent'" \
    | python3 -c "
import sys
v = sorted(int(x) for x in sys.stdin if x.strip())
total = $(query "SELECT COUNT(*) FROM notifications WHERE id LIKE 'bench-r-%'")
failed = $(query "SELECT COUNT(*) FROM notifications WHERE id LIKE 'bench-r-%' AND status = 'failed'")
assert failed == 0, f'{failed} reminders failed'
assert len(v) == total, f'only {len(v)} of {total} reminders were sent' 
p = lambda q: v[min(len(v) - 1, int(q * len(v)))] if v else 0
print(f'| $backend | {len(v)} of {total} | {p(0.5)} ms | {p(0.99)} ms | {v[-1] if v else 0} ms |')
")")
  stop_server
done
echo
echo "Reminder lateness (sent minus due; due one every 130 ms per tenant, during the load above):"
echo
echo "| database | reminders sent | p50 | p99 | max |"
echo "|---|---:|---:|---:|---:|"
printf '%s\n' "${lateness[@]}"
echo
echo "Seed: 10 tenants × 10,000 bookings (20 clinicians × 500, every 17.5 h over a year centred on now); the measured clinician has 500."
echo "wrk: 2 threads, $connections connections, $duration per row, on the same machine as the server."
