#!/usr/bin/env bash
# Benchmark OUR product's signup flow (GET /newsletters/SLUG → POST .../subscribe → 303)
# under gunicorn with the same settings and load generator as the django-newsletter peer,
# plus a bare Flask "hello" view as the framework baseline. Run from the product checkout:
#
#   cd <checkout> && bash <steering>/peers/product/run_bench.sh
#
# Same knobs as peers/django_newsletter/run_bench.sh: PORT (8302) WORKERS (2) WORKER_CLASS
# (sync) THREADS (1) N (2000) C (8) WARMUP (100) HELLO_N (5000; 0 skips) RUNS (1) OUT;
# PG_URL (a PostgreSQL server's URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres):
# the product on a fresh database "peers_us" there instead of its SQLite file.
#
# This is the product's copy of the shared peers/product/run_bench.sh, which predates
# signup requests: a signup now redirects to …/subscribed?sent_to=… and records a
# signup_request (and the newsletters chosen) that the mail worker applies later, so that
# is what the check counts. benchmarks/compare.sh runs the shared compare.sh with it.
# Needs the checkout's .venv (make install / make test creates it). Rate limits are off
# (the peer has none); mail goes to the product's outbox (the worker is not running), the
# peer writes its mail file in the request: both are durable records of the email.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOADGEN="$HERE/../loadgen.py"
PROJ=$(pwd)
VENV=${VENV:-$PROJ/.venv}
PORT=${PORT:-8302}
WORKERS=${WORKERS:-2}
WORKER_CLASS=${WORKER_CLASS:-sync}
THREADS=${THREADS:-1}
N=${N:-2000}
C=${C:-8}
WARMUP=${WARMUP:-100}
HELLO_N=${HELLO_N:-5000}
HELLO_WARMUP=${HELLO_WARMUP:-200}
RUNS=${RUNS:-1}
MAX_SECONDS=${MAX_SECONDS:-300}
TMPD=${TMPDIR:-$(dirname "$(mktemp -u)")}
OUT=${OUT:-$TMPD/peers/results/us-$(date +%Y%m%d-%H%M%S)}
BASE="http://127.0.0.1:$PORT"
SLUG=explaining-ukraine
PY="$VENV/bin/python"
mkdir -p "$OUT"
[[ -x "$VENV/bin/gunicorn" ]] || { echo "no $VENV/bin/gunicorn: run make install/make test in the checkout" >&2; exit 1; }
GUNI_PID=""

stop_server() {
  if [[ -n "$GUNI_PID" ]] && kill -0 "$GUNI_PID" 2>/dev/null; then
    kill -TERM "$GUNI_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$GUNI_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$GUNI_PID" 2>/dev/null && kill -KILL "$GUNI_PID" 2>/dev/null || true
    wait "$GUNI_PID" 2>/dev/null || true
  fi
  GUNI_PID=""
}
trap stop_server EXIT
trap 'exit 130' INT TERM

server_cpu() {
  local pids ticks=0 p
  pids="$GUNI_PID $(ps -o pid= --ppid "$GUNI_PID" 2>/dev/null | tr '\n' ' ')"
  for p in $pids; do
    [[ -r /proc/$p/stat ]] || continue
    ticks=$(( ticks + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}') ))
  done
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.3f", t / hz}'
}

start_server() {  # start_server LOG PROBE_PATH APP [chdir]
  local log="$1" probe="$2" app="$3" dir="${4:-$PROJ}"
  if curl -s -o /dev/null --max-time 1 "$BASE/" 2>/dev/null; then echo "port $PORT busy" >&2; exit 1; fi
  local extra=()
  [[ "$WORKER_CLASS" == gthread ]] && extra+=(--threads "$THREADS")
  ( cd "$dir" && exec "$VENV/bin/gunicorn" "$app" --bind "127.0.0.1:$PORT" --workers "$WORKERS" \
      --worker-class "$WORKER_CLASS" "${extra[@]}" --no-control-socket --error-logfile "$log" --log-level warning ) &
  GUNI_PID=$!
  for _ in $(seq 1 150); do
    curl -fs -o /dev/null --max-time 1 "$BASE$probe" && return 0
    kill -0 "$GUNI_PID" 2>/dev/null || { echo "gunicorn died; see $log" >&2; cat "$log" >&2; exit 1; }
    sleep 0.2
  done
  echo "gunicorn not ready; see $log" >&2; exit 1
}

phase() {  # phase NAME -- loadgen args
  local name="$1"; shift
  local json="$OUT/run$RUN-$name.json" s0 s1 rc=0
  s0=$(server_cpu)
  "$PY" "$LOADGEN" "$@" --label "$name" --json "$json" --max-seconds "$MAX_SECONDS" || rc=$?
  s1=$(server_cpu)
  "$PY" - "$json" "$s0" "$s1" <<'PYEOF'
import json, sys
path, s0, s1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
r = json.load(open(path))
r["server_cpu_s"] = round(s1 - s0, 3)
done = r["ok"] + ((r.get("warmup") or {}).get("ok") or 0)
r["server_cpu_ms_per_op"] = round(1000 * (s1 - s0) / done, 3) if done else None
json.dump(r, open(path, "w"), indent=2)
print(f"  {r.get('label')}: {r['ok_per_s']:.1f}/s ok={r['ok']} errors={r['errors']} server cpu {r['server_cpu_ms_per_op']} ms/op")
PYEOF
  return $rc
}

echo "== our product: workers=$WORKERS class=$WORKER_CLASS threads=$THREADS N=$N C=$C runs=$RUNS -> $OUT"
fail=0
for RUN in $(seq 1 "$RUNS"); do
  inst=$(mktemp -d "$TMPD/us-inst.XXXXXX")
  if [[ -n "${PG_URL:-}" ]]; then  # PostgreSQL: a fresh database per run
    psql -X -q -d "${PG_URL/+psycopg/}" -c "DROP DATABASE IF EXISTS peers_us WITH (FORCE)" -c "CREATE DATABASE peers_us"
    export NEWSLETTER_DATABASE_URL="${PG_URL%/*}/peers_us"
  fi
  export NEWSLETTER_INSTANCE_PATH="$inst" NEWSLETTER_RATELIMIT_ENABLED=false \
         NEWSLETTER_PUBLIC_URL="$BASE" NEWSLETTER_SECRET_KEY="bench-$RANDOM-$RANDOM"
  "$VENV/bin/newsletter" db upgrade >"$OUT/run$RUN-setup.log" 2>&1
  "$VENV/bin/newsletter" newsletters create --slug "$SLUG" --name "Explaining Ukraine with Kate Tsurkan" >>"$OUT/run$RUN-setup.log" 2>&1
  if (( HELLO_N > 0 )); then
    start_server "$OUT/run$RUN-hello.log" /hello bare_flask:app "$HERE"
    phase hello get --url "$BASE/hello" --expect-body '^hello' -n "$HELLO_N" -c "$C" --warmup "$HELLO_WARMUP" || fail=1
    stop_server
  fi
  start_server "$OUT/run$RUN-gunicorn.log" /healthz 'newsletter:create_app()'
  phase signup signup --base "$BASE" --form-path "/newsletters/$SLUG" --post-path "/newsletters/$SLUG/subscribe" \
    --field 'email={email}' --field 'website=' \
    --email-template 'bench-{run}-{i}@example.com' \
    --csrf-regex 'name="csrf_token"[^>]*value="([^"]+)"' --csrf-field csrf_token \
    --encoding urlencoded --expect-status 303 --expect-location "/newsletters/$SLUG/subscribed(\\?sent_to=.*)?\$" \
    -n "$N" -c "$C" --warmup "$WARMUP" || fail=1
  stop_server
  "$PY" - "$OUT/run$RUN-signup.json" "${NEWSLETTER_DATABASE_URL:-sqlite:///$inst/newsletter.db}" <<'PYEOF' || fail=1
import json, sys
from sqlalchemy import create_engine, text
path, url = sys.argv[1], sys.argv[2]
r = json.load(open(path))
expected = r["ok"] + ((r.get("warmup") or {}).get("ok") or 0)
with create_engine(url).connect() as db:
    rows = db.execute(text("select count(*) from signup_request where email like :p"), {"p": f"bench-{r['run_id']}-%"}).scalar()
    chosen = db.execute(text("select count(*) from signup_request_newsletter")).scalar()
r["check"] = {"expected": expected, "signup_requests": rows, "newsletters_chosen": chosen}
json.dump(r, open(path, "w"), indent=2)
ok = rows == expected and chosen == expected
print(f"  check: signups {expected}, signup requests {rows}, newsletters chosen {chosen} -> {'OK' if ok else 'MISMATCH'}")
sys.exit(0 if ok else 1)
PYEOF
  rm -rf "$inst"
done
exit $fail
