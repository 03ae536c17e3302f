# Shared by the load benchmarks (sourced, not run). Before sourcing, set
# `bench_db` (the PostgreSQL database the script creates, dropped on exit)
# and `port` (the portals'; health and metrics listen on `port + 1`).
# Provides: root, duration, connections, threads, pg_admin, bin, work,
# base, ops_base, tenants_dir, start_server, stop_server, login, csrf_in.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
duration=${BENCH_DURATION:-15s}
connections=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
pg_admin=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export PGOPTIONS="-c client_min_messages=warning"

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
(cd "$root" && cargo build --quiet --release --package tillit-kernel --bin tillit)
bin=$root/target/release/tillit
work=$(mktemp -d)
tenants_dir=$root/tenants
base=http://127.0.0.1:$port
ops_base=http://127.0.0.1:$((port + 1))
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $bench_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# start_server DATABASE_URL: starts tillit, waits for /readyz (on the
# operators' address), and sets server_pid and ready_ms (no subshell, so
# the pid is kept).
start_server() {
  local t0 t1
  t0=$(date +%s%N)
  TILLIT_DATABASE__URL=$1 TILLIT_SERVER__LISTEN=127.0.0.1:$port \
    TILLIT_SERVER__OPS_LISTEN=127.0.0.1:$((port + 1)) TILLIT_DATA_DIR=$work/data \
    TILLIT_TENANTS_DIR=$tenants_dir TILLIT_THEMES_DIR=$root/themes TILLIT_LOG__FILTER=warn \
    "$bin" serve >/dev/null 2>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 1 2000); do
    if curl -fsS -o /dev/null "$ops_base/readyz" 2>/dev/null; then
      t1=$(date +%s%N)
      ready_ms=$(( (t1 - t0) / 1000000 ))
      return 0
    fi
    sleep 0.005
  done
  echo "tillit did not become ready" >&2; cat "$work/server.log" >&2; exit 1
}

stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=; }

# csrf_in: the first CSRF token in the HTML on standard input.
csrf_in() { grep -o 'name="_csrf" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//'; }

# login PNR: logs in to the demo tenant through the test login, keeping the
# cookies in $work/jar, and prints the session cookie's value. A patient
# accepts the terms when asked, so that pages are measured, not the redirect.
login() {
  local jar=$work/jar csrf
  rm -f "$jar"
  csrf=$(curl -fsS -c "$jar" -H "Host: demo.localhost" "$base/login" | csrf_in)
  curl -fsS -o /dev/null -b "$jar" -c "$jar" -H "Host: demo.localhost" --data-urlencode "personnummer=$1" --data-urlencode "_csrf=$csrf" "$base/login/test"
  if [ "$(curl -fsS -o /dev/null -w '%{redirect_url}' -b "$jar" -H "Host: demo.localhost" "$base/")" = "$base/terms" ]; then
    csrf=$(curl -fsS -b "$jar" -H "Host: demo.localhost" "$base/terms" | csrf_in)
    curl -fsS -o /dev/null -b "$jar" -c "$jar" -H "Host: demo.localhost" --data-urlencode "_csrf=$csrf" "$base/terms"
  fi
  awk '$6 == "tillit_session" { print $7 }' "$jar"
}
