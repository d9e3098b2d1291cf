"""The Content-Security-Policy header: on every page, strict, with each exception on its own page.

The browser tests (tests/e2e) check that the pages work under it and report no violation; these
check the header itself and that no template brings back what the policy refuses.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings

from core import roles as R
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HEADER = "Content-Security-Policy"


def directives(response) -> dict[str, list[str]]:
    policy = response[HEADER]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


@pytest.fixture
def staff(client, dispatcher):
    client.force_login(dispatcher)
    return client


@pytest.mark.parametrize("path", ["/request/", "/kb/", "/accounts/login/"])
def test_public_pages_get_the_strict_policy(client, path):
    found = directives(client.get(path))

    assert found["default-src"] == ["'self'"]
    assert found["script-src"] == ["'self'"]
    assert found["style-src"] == ["'self'"]
    assert found["object-src"] == ["'none'"]
    assert found["frame-ancestors"] == ["'none'"]
    assert found["img-src"] == ["'self'", "data:", "blob:"]


def test_staff_pages_and_the_api_get_it_too(staff):
    for path in ["/staff/work-orders/", "/dispatch/", "/api/v1/work-orders/", "/api/docs/"]:
        response = staff.get(path)
        assert response.status_code == 200, path
        assert "'unsafe-inline'" not in response[HEADER], path


def test_the_board_allows_the_tile_server_and_only_the_board(staff, settings):
    settings.DISPATCH_TILE_URL = "https://{s}.tiles.example.com/{z}/{x}/{y}.png"

    board = directives(staff.get("/dispatch/"))
    queue = directives(staff.get("/staff/work-orders/"))

    assert board["img-src"] == ["'self'", "data:", "blob:", "https://*.tiles.example.com"]
    assert "https://*.tiles.example.com" not in queue["img-src"]


def test_without_a_tile_server_the_board_allows_no_other_host(staff, settings):
    settings.DISPATCH_TILE_URL = ""

    assert directives(staff.get("/dispatch/"))["img-src"] == ["'self'", "data:", "blob:"]


def test_only_redoc_may_use_inline_styles(client):
    client.force_login(UserFactory(username="reader", roles=[R.AGENT]))

    redoc = directives(client.get("/api/redoc/"))
    swagger = directives(client.get("/api/docs/"))

    assert redoc["style-src"] == ["'self'", "'unsafe-inline'"] and redoc["worker-src"] == ["blob:"]
    assert redoc["script-src"] == ["'self'"]
    assert swagger["style-src"] == ["'self'"]


def test_a_changed_policy_is_sent_at_once(client, settings):
    """The header is built once per process (core.middleware.CSPMiddleware); a change of the setting rebuilds it."""
    client.get("/request/")
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}

    assert client.get("/request/")[HEADER] == "default-src 'none'"


# --- what the templates and scripts may not contain -------------------------------------------

TEMPLATE_DIRS = [Path(settings.BASE_DIR) / "templates"] + sorted(Path(settings.BASE_DIR).glob("*/templates"))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
FORBIDDEN = {
    "an inline script": INLINE_SCRIPT,
    "an event handler attribute": re.compile(r"<[^>]+\son[a-z]+\s*=", re.I),
    "a style attribute": re.compile(r"<[^>]+\sstyle\s*=", re.I),
    "a <style> element": re.compile(r"<style[\s>]", re.I),
    "a javascript: address": re.compile(r"javascript:", re.I),
}


def _templates():
    for folder in TEMPLATE_DIRS:
        if ".venv" not in folder.parts:
            yield from sorted(folder.rglob("*.html"))


def test_no_template_brings_inline_script_handlers_or_styles():
    found = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(settings.BASE_DIR)}: {what}" for what, pattern in FORBIDDEN.items()
                  if pattern.search(text)]
    assert list(_templates()), "templates were read"
    assert found == []


def test_the_scan_would_see_each_kind():
    samples = ['<script>alert(1)</script>', '<button onclick="x()">', '<div style="color:red">', "<style>p{}</style>",
               '<a href="javascript:history.back()">']
    for sample, pattern in zip(samples, FORBIDDEN.values(), strict=True):
        assert pattern.search(sample)
    assert not INLINE_SCRIPT.search('<script id="x" type="application/json" data-url="u"></script>')
    assert not INLINE_SCRIPT.search('<script src="/static/a.js" defer></script>')


def test_no_script_of_ours_sets_a_style_attribute_or_evaluates_text():
    found = []
    for path in sorted((Path(settings.BASE_DIR) / "static").rglob("*.js")):
        text = path.read_text(encoding="utf-8")
        for pattern in (r"setAttribute\(\s*[\"']style", r"\beval\(", r"new Function\(", r"\.innerHTML\s*=.*\bstyle="):
            if re.search(pattern, text):
                found.append(f"{path.name}: {pattern}")
    assert found == []


def test_the_export_page_of_an_import_has_no_style_attribute_or_inline_handler(client, manager):
    """django-import-export's own export page writes style attributes and an onchange handler;
    templates/admin/core/export.html replaces them with static/css/import_export.css and
    static/js/import_export.js."""
    client.force_login(manager)
    for path in ["/admin/customers/customer/export/", "/admin/technicians/technician/export/"]:
        page = client.get(path)
        html = page.content.decode()
        assert page.status_code == 200, path
        assert 'name="select-all-toggle"' in html, path  # the page drawn is the one with the toggle
        for what in ("a style attribute", "an event handler attribute", "an inline script"):
            assert not FORBIDDEN[what].search(html), (path, what)
        assert "css/import_export.css" in html and "js/import_export.js" in html
