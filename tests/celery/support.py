"""Stand-ins for the outside world in the notification tests.

``ProviderStub``: a local HTTP server on 127.0.0.1 playing the SMS provider and
the group-robot webhook; it records every request and answers what the test says.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ProviderStub:
    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        self.body: dict = {"errcode": 0, "errmsg": "ok"}
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    payload = json.loads(raw or b"{}")
                except ValueError:
                    payload = {"raw": raw.decode(errors="replace")}
                with stub._lock:
                    stub.requests.append({"path": self.path, "json": payload, "headers": dict(self.headers)})
                    status, body = stub.status, stub.body
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def on(self, path: str) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r["path"].split("?")[0] == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class IdempotentSmsProvider:
    """A local SMS provider that honours ``Idempotency-Key``, as a careful real one does: the
    first request with a key is accepted (the message "goes out"), a repeat is answered 200
    and not sent again. Every request is recorded.

    ``hold``: a recipient whose first message is accepted and then not answered until
    ``release()`` (``held`` is set when it arrives) - a worker can be killed while it waits.
    """

    def __init__(self, *, hold: str = ""):
        self.requests: list[dict] = []
        self.accepted: list[str] = []  # keys, in the order their message went out
        self.held = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                key = self.headers.get("Idempotency-Key", "")
                with provider._lock:
                    provider.requests.append({"key": key, "to": payload.get("to"), "text": payload.get("text")})
                    first = key not in provider.accepted
                    if first:
                        provider.accepted.append(key)
                if first and hold and payload.get("to") == hold and not provider.held.is_set():
                    provider.held.set()
                    provider._release.wait(60)
                data = json.dumps({"code": 0, "message": "OK" if first else "duplicate, not sent again"}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the worker that asked is gone

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def requests_with(self, key: str) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r["key"] == key]

    def release(self):
        self._release.set()

    def close(self):
        self.release()
        self.server.shutdown()
        self.server.server_close()


import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import quote, urlsplit  # noqa: E402

from config.celery import app as celery_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def redis_url() -> str:
    """The Redis the suite may use (REDIS_URL / CELERY_BROKER_URL), else the default local one."""
    for name in ("CELERY_TEST_REDIS_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        value = os.environ.get(name, "")
        if value.startswith("redis://"):
            return value
    return "redis://127.0.0.1:6379/0"


def redis_reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(db_settings: dict) -> str:
    user = quote(db_settings.get("USER") or "")
    password = quote(db_settings.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db_settings.get("HOST") or "127.0.0.1"
    if host.startswith("/"):  # a Unix socket's folder (the embedded PostgreSQL), percent-encoded
        host = quote(host, safe="")
    port = db_settings.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{db_settings['NAME']}"


def wait_until(check, *, timeout: float, interval: float = 0.2, what: str = "", logs=None):
    """Poll ``check`` until it returns something truthy (a real worker is working), or fail."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            detail = f"\n--- worker and beat logs ---\n{logs()}" if logs else ""
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


class RedisServer:
    """A private redis-server on a free port, to stop and start during a test."""

    def __init__(self, tmp_path):
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.dir = tmp_path
        self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: redis_reachable(self.url), timeout=10, what="redis-server to start")

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)  # a frozen server handles SIGTERM only once thawed
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def freeze(self):
        """Stop answering but keep the data (as a network partition would): SIGSTOP."""
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self):
        self.proc.send_signal(signal.SIGCONT)
        wait_until(lambda: redis_reachable(self.url), timeout=10, what="redis-server to answer again")


def caches_on(url: str, *, retry_seconds: float = 0.2) -> dict:
    """CACHES on the Redis at ``url``, as config/settings.py builds them, trying Redis again
    ``retry_seconds`` after a failure (5 s in production) so that a test sees it come back quickly."""
    options = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, "retry_seconds": retry_seconds}
    return {
        "default": {"BACKEND": "core.cache.RedisCache", "LOCATION": url, "OPTIONS": options},
        "ratelimit": {"BACKEND": "core.cache.RedisCache", "LOCATION": url,
                      "OPTIONS": {**options, "local_fallback": True}},
    }


class CeleryProcesses:
    """A real Celery worker and beat, as subprocesses of the test, on the test database."""

    def __init__(self, *, broker: str, queue: str, database: str, tmp_path, env: dict):
        self.tmp = tmp_path
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database,
            "DB_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": broker,
            "REDIS_URL": "",
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "SLA_SWEEP_SECONDS": "1",
            "OUTBOX_SWEEP_SECONDS": "1",
            "SURVEY_SWEEP_SECONDS": "3600",
            "OUTBOX_SWEEP_GRACE_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.queue = queue
        self.procs: dict[str, subprocess.Popen] = {}

    def _spawn(self, name, args):
        log = open(self.tmp / f"{name}.log", "w")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *args], cwd=ROOT, env=self.env,
            stdout=log, stderr=subprocess.STDOUT,
        )

    def start(self):
        self._spawn("worker", ["worker", "--pool=solo", "-Q", self.queue, "-n", f"{self.queue}@%h",
                               "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"])
        self._spawn("beat", ["beat", "--schedule", str(self.tmp / "beat-schedule"), "--max-interval=1",
                             "--loglevel=INFO"])
        return self

    def wait_ready(self, timeout=30):
        wait_until(lambda: " ready." in self.log("worker"), timeout=timeout, what="the worker", logs=self.logs)
        wait_until(lambda: "Starting..." in self.log("beat"), timeout=timeout, what="beat", logs=self.logs)

    def log(self, name) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(f"[{name}]\n{self.log(name)[-4000:]}" for name in self.procs)

    def stop(self):
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def point_app_at(broker: str, queue: str):
    """Make this process publish where the test's worker listens; returns the old settings."""
    conf = celery_app.conf
    old = (conf.broker_url, conf.broker_transport_options, conf.task_default_queue)
    conf.broker_url = broker
    conf.broker_transport_options = {"socket_connect_timeout": 1, "socket_timeout": 5, "visibility_timeout": 3600}
    conf.task_default_queue = queue
    celery_app._after_fork()  # drop pooled connections to the old broker
    return old


def restore_app(old):
    conf = celery_app.conf
    conf.broker_url, conf.broker_transport_options, conf.task_default_queue = old
    celery_app._after_fork()


def drop_queue(broker: str, queue: str):
    import redis

    client = redis.Redis.from_url(broker)
    client.delete(queue, f"_kombu.binding.{queue}")
    client.close()
