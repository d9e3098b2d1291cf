import pytest

from knowledge import search
from knowledge.models import Audience
from knowledge.services import article_create


@pytest.fixture(autouse=True)
def _fresh_term_statistics():
    # Term statistics are cached per process; each test starts from its own data.
    search.forget_term_frequencies()
    yield
    search.forget_term_frequencies()


@pytest.fixture
def make_article(db):
    """Create a published article through the service (as the admin and pages do)."""

    def make(title="上门费多少钱", body="市区上门检测费 50 元。", audience=Audience.PUBLIC, published=True, **kwargs):
        return article_create(title=title, body=body, audience=audience, published=published,
                              actor=kwargs.pop("actor", None), **kwargs)

    return make
