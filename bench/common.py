"""What several benchmark scripts share: their own database, and the CPU time of a PostgreSQL backend.

Import it after the script has put the repository root on ``sys.path`` (as each script does).
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

CLK_TCK = os.sysconf("SC_CLK_TCK")


def ensure_database(url: str, *, rebuild: bool = False) -> bool:
    """Create the database of ``url`` if missing (dropped and created again with ``rebuild``);
    True when it was created, so the caller must fill it."""
    import psycopg2

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(parts._replace(path="/postgres").geturl())
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            exists = cursor.fetchone() is not None
            if exists and rebuild:
                cursor.execute(f'DROP DATABASE "{name}"')
                exists = False
            if not exists:
                cursor.execute(f'CREATE DATABASE "{name}"')
                print(f"created database {name}")
    finally:
        admin.close()
    return not exists


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process on this host (a PostgreSQL backend: ``SELECT pg_backend_pid()``);
    NaN when /proc does not show it (a database on another host)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLK_TCK
