#!/usr/bin/env bash
# Start the web server with a Celery worker and beat on the embedded defaults
# (SQLite, filesystem broker under ./var). Ctrl-C stops all three.
set -euo pipefail
BIN="${VENV:-.venv}/bin"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
mkdir -p var
trap 'kill 0' EXIT INT TERM
"$BIN/celery" -A config worker --loglevel=INFO --concurrency=2 --pool=threads >var/worker.log 2>&1 &
"$BIN/celery" -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule >var/beat.log 2>&1 &
cat <<TXT

  Field service is running at http://$HOST:$PORT/
    public request form   http://$HOST:$PORT/request/
    staff work orders     http://$HOST:$PORT/staff/work-orders/
    REST API docs         http://$HOST:$PORT/api/docs/
    admin                 http://$HOST:$PORT/admin/

  Demo logins (password: demo12345):
    agent, dispatcher, technician, partner, manager, admin (superuser)

  Celery worker and beat log to var/worker.log and var/beat.log.

TXT
"$BIN/python" manage.py runserver "$HOST:$PORT"
