import pytest
from django.test import Client
from django.utils import translation

from core import roles as R

from .factories import (
    PartnerTechnicianFactory,
    ServiceTypeFactory,
    TechnicianFactory,
    UserFactory,
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Tests that flush the database (transactional ones, live_server) run after the others.

    pytest-django sorts them last, but pytest's grouping of session-scoped parametrized
    fixtures (the browser tests' ``browser_name``) can move them forward again; a flush
    empties what the migrations wrote (role groups, the default SLA policy), which the
    ordinary tests rely on. So sort once more, keeping each group's order."""

    def transactional(item):
        marker = item.get_closest_marker("django_db")
        flagged = bool(marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")))
        names = getattr(item, "fixturenames", ())
        return flagged or "transactional_db" in names or "live_server" in names

    items.sort(key=transactional)


def pytest_sessionfinish(session):
    """A session that started the embedded PostgreSQL (no DATABASE_URL) stops it again."""
    from config import embedded_db

    if embedded_db.started_here is not None:
        embedded_db.stop(embedded_db.started_here)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A second alias, "replica", on the test database (Django's TEST MIRROR: the same server
    and database, a connection of its own), for the read-replica tests (tests/reports/
    test_read_replica.py). Nothing reads from it unless a test turns the router on; a test
    that uses it asks for ``databases=["default", "replica"]``."""
    from django.conf import settings

    default = settings.DATABASES["default"]
    settings.DATABASES.setdefault("replica", {**default, "TEST": {**default.get("TEST", {}), "MIRROR": "default"}})


@pytest.fixture
def fresh_rate_limits(settings):
    """No rate-limit counts left from earlier requests (every test request comes from
    127.0.0.1), and the public form's limit raised out of the way."""
    from django.core.cache import caches

    for alias in ("default", "ratelimit"):
        caches[alias].clear()
    settings.PUBLIC_FORM_RATE = "1000/m"
    yield
    for alias in ("default", "ratelimit"):
        caches[alias].clear()


@pytest.fixture
def private_redis(tmp_path, settings):
    """A redis-server of the test's own on a free port, which the test may stop, freeze and
    start again; this process's caches (sessions, rate limits, refcache tokens) use it."""
    from .celery.support import RedisServer, caches_on

    server = RedisServer(tmp_path)
    if server.binary is None:
        pytest.skip("redis-server is not installed")
    server.start()
    settings.CACHES = caches_on(server.url)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _outbox_without_broker(settings):
    """Notifications are written to the outbox but not handed to a broker after commit
    (no stray tasks in a developer's queue); tests/celery/ turns it back on. No pause after
    a broker failure carries over from an earlier test."""
    from notifications.services import BROKER_PAUSE

    settings.OUTBOX_ENQUEUE_ON_COMMIT = False
    BROKER_PAUSE.clear()


@pytest.fixture(autouse=True)
def _geocoding_without_broker(settings):
    """New sites are not handed to a broker after commit (tests/customers/test_site_location.py turns
    it on with eager tasks); the offline geocoder, whatever the environment says."""
    settings.GEOCODE_ENQUEUE_ON_COMMIT = False
    settings.GEOCODER = "offline"


@pytest.fixture
def client():
    """A browser that asks for English pages. Chinese is the default language; most tests read
    English text, and tests/core/test_i18n.py asks for Chinese explicitly."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture(autouse=True)
def _dashboard_worked_out_each_time(settings):
    """The KPI dashboard's figures are not kept between pages (a shared Redis would carry them from
    one test to the next); tests/reports/test_dashboard_kept.py turns keeping them on."""
    settings.REPORTS_DASHBOARD_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def _english_messages(settings):
    """Services' messages (errors, notifications) in English outside a request, as above; the
    default language too, for code that runs in threads of its own (they start with the default)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _plain_static(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture
def agent(db):
    return UserFactory(username="agent", roles=[R.AGENT], is_staff=True)


@pytest.fixture
def dispatcher(db):
    return UserFactory(username="dispatcher", roles=[R.DISPATCHER], is_staff=True)


@pytest.fixture
def manager(db):
    return UserFactory(username="manager", roles=[R.MANAGER], is_staff=True)


@pytest.fixture
def technician(db):
    return TechnicianFactory(user__username="tech")


@pytest.fixture
def other_technician(db):
    return TechnicianFactory(user__username="tech2")


@pytest.fixture
def partner_technician(db):
    return PartnerTechnicianFactory(user__username="partner")


@pytest.fixture
def service_type(db):
    return ServiceTypeFactory(code="ac-repair", name="Air conditioner repair")


@pytest.fixture(autouse=True)
def _fresh_reference_caches():
    """Each test starts without the reference data another test left in this process
    (core/refcache.py): a rolled-back test transaction sends no signal to drop it."""
    from core.refcache import clear_all_local

    clear_all_local()
    yield
    clear_all_local()
