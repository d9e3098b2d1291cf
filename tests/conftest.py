import pytest
from django.db import connection

from core import roles as R

from .factories import (
    PartnerTechnicianFactory,
    ServiceTypeFactory,
    TechnicianFactory,
    UserFactory,
)


def pytest_collection_modifyitems(config, items):
    """Postgres-only tests skip, with their reason shown, when running on SQLite."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); running on SQLite")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"
