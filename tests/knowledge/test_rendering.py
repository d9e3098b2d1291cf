"""Article bodies are Markdown; whatever HTML an author slips in, scripts never run."""

import re

import pytest
from django.urls import reverse

from knowledge.rendering import render_markdown

pytestmark = pytest.mark.django_db

HOSTILE = """# Cleaning the filter

Rinse it under the tap. <script>alert('x')</script>

<img src="x" onerror="alert('img')">
<a href="javascript:alert('link')">click me</a>
[markdown link](javascript:alert('md'))
<a href="JaVaScRiPt:alert(1)">mixed case</a>
<div onclick="steal()" style="background:url(javascript:alert(1))">box</div>
<iframe src="https://evil.example/"></iframe>
[the fee schedule](/kb/1/) and [our site](https://example.com/)
"""


def _body_of(page: str) -> str:
    return re.search(r'<div class="kb-body">(.*?)</div>\s*\n', page, re.S).group(1)


def test_scripts_handlers_and_javascript_links_render_inert_on_the_article_page(client, make_article):
    article = make_article(title="Cleaning the filter", body=HOSTILE)
    page = client.get(reverse("knowledge:detail", args=[article.pk])).content.decode()
    body = _body_of(page)
    lowered = body.lower()
    assert "<script" not in lowered
    assert "onerror" not in lowered and "onclick" not in lowered
    assert "javascript:" not in lowered
    assert "<iframe" not in lowered and "style=" not in lowered
    # The harmless content is still there.
    assert "<h1>Cleaning the filter</h1>" in body
    assert 'href="/kb/1/"' in body and 'href="https://example.com/"' in body


def test_markdown_features_authors_use_survive_sanitizing():
    html = render_markdown("**bold** and a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n1. one\n2. two")
    assert "<strong>bold</strong>" in html
    assert "<table>" in html and "<td>1</td>" in html
    assert "<ol>" in html


def test_links_get_rel_noopener():
    html = render_markdown("[x](https://example.com/)")
    assert 'rel="noopener noreferrer nofollow"' in html
