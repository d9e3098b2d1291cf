#!/usr/bin/env bash
# `make run`: migrate, load the demo data, then serve the web pages with a Celery worker and
# beat. Without DATABASE_URL everything runs on the embedded PostgreSQL in var/postgres, which
# this script starts and, when it ends (Ctrl-C), stops; Celery uses the filesystem broker in
# var/broker unless REDIS_URL or CELERY_BROKER_URL is set.
set -euo pipefail
BIN="${VENV:-.venv}/bin"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
# Tracking and survey links in the demo's messages lead to the address served here.
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://$HOST:$PORT}"
mkdir -p var

# On the way out (Ctrl-C, kill, or an error) stop every process this script started, and
# what they started (runserver's autoreloader child), then the embedded PostgreSQL. Killed
# outright with its process group, nothing here runs; the cluster, which runs in a session
# of its own, survives, and the next `make run` finds and reuses it.
stop_all() {
  trap - EXIT INT TERM
  "$BIN/python" - "$$" <<'PY' || true
import sys, psutil
me = psutil.Process().pid
children = [c for c in psutil.Process(int(sys.argv[1])).children(recursive=True) if c.pid != me]
for child in children:
    try:
        child.terminate()
    except psutil.NoSuchProcess:
        pass
psutil.wait_procs(children, timeout=10)
PY
  if [ -z "${DATABASE_URL:-}" ]; then
    "$BIN/python" -m config.embedded_db stop || true
  fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

if [ -z "${DATABASE_URL:-}" ]; then
  "$BIN/python" -m config.embedded_db start
fi
"$BIN/python" manage.py migrate --noinput
"$BIN/python" manage.py seed_demo --work-orders 300 --if-empty
# The reports' figures of what was just seeded (beat would catch up within two minutes).
"$BIN/python" manage.py reports_refresh

"$BIN/celery" -A config worker --loglevel=INFO --concurrency=2 --pool=threads >var/worker.log 2>&1 &
"$BIN/celery" -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule >var/beat.log 2>&1 &
cat <<TXT

  Field service is running at http://$HOST:$PORT/
    public request form   http://$HOST:$PORT/request/
    staff work orders     http://$HOST:$PORT/staff/work-orders/
    manager's dashboard   http://$HOST:$PORT/reports/
    REST API docs         http://$HOST:$PORT/api/docs/
    admin                 http://$HOST:$PORT/admin/

  Demo logins (password: demo12345):
    agent, dispatcher, technician, partner, manager, admin (superuser)

  Celery worker and beat log to var/worker.log and var/beat.log; the embedded
  PostgreSQL logs to var/postgres/log. Ctrl-C stops all of them.

TXT
"$BIN/python" manage.py runserver "$HOST:$PORT" &
wait $!
