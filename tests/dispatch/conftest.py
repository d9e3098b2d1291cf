import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English; the default language is Chinese once translated."""
    with translation.override("en"):
        yield
