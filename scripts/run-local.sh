#!/usr/bin/env bash
# `make run`: migrate, load the demo data, then serve the web pages with a Celery worker and
# beat. Without DATABASE_URL everything runs on the embedded PostgreSQL in var/postgres, which
# this script starts and, when it ends (Ctrl-C), stops; Celery uses the filesystem broker in
# var/broker unless REDIS_URL or CELERY_BROKER_URL is set.
set -euo pipefail
BIN="${VENV:-.venv}/bin"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
mkdir -p var

# Each service runs in a process group of its own (setsid), so that stopping it stops the
# processes it started too (runserver's autoreloader child).
GROUPS_STARTED=()
start() { setsid "$@" & GROUPS_STARTED+=("$!"); }
stop_all() {
  trap - EXIT INT TERM
  for group in "${GROUPS_STARTED[@]}"; do kill -TERM -- "-$group" 2>/dev/null || true; done
  wait 2>/dev/null || true
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

start "$BIN/celery" -A config worker --loglevel=INFO --concurrency=2 --pool=threads >var/worker.log 2>&1
start "$BIN/celery" -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule >var/beat.log 2>&1
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
start "$BIN/python" manage.py runserver "$HOST:$PORT"
wait "${GROUPS_STARTED[-1]}"
