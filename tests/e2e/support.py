"""What the browser tests share: a person at a browser, screenshots, axe-core, the language check.

A ``Person`` is one browser context (a phone or a desk, a language) with its own
cookies; every request it makes is recorded so that a test can prove nothing
was fetched from outside 127.0.0.1, and every uncaught script error is kept so
that a broken page script fails the test.
"""

from __future__ import annotations

import functools
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from PIL import Image

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1366, "height": 900}
# Browser languages: what a phone set to Simplified Chinese or to English sends.
BROWSER_LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}

AXE_JS = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
LOCAL_HOSTS = {"127.0.0.1"}


def screenshots_root() -> Path:
    return Path(os.environ.get("E2E_SCREENSHOTS_DIR") or Path(settings.BASE_DIR) / "var" / "e2e-screenshots")


# --- A person at a browser ------------------------------------------------------------------


@dataclass
class Person:
    name: str
    device: str  # "phone" or "desktop"
    context: object
    page: object
    requests: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    # What the browser refused under the site's Content-Security-Policy (conftest.py listens).
    csp_violations: list[str] = field(default_factory=list)

    def go(self, path_or_url: str):
        """Open an address and wait for its page (and its deferred scripts) to load."""
        response = self.page.goto(path_or_url, wait_until="load")
        assert response is not None and response.status < 400, f"{path_or_url}: HTTP {response and response.status}"
        return response

    def log_in(self, username: str, password: str):
        """On the login page (where a protected address sends an anonymous visitor): sign in."""
        page = self.page
        assert "/accounts/login/" in page.url, page.url
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        with page.expect_navigation():
            page.click("form button[type=submit].primary")
        assert "/accounts/login/" not in page.url, "login refused"

    def leave(self):
        """Close this person's browser (a page that refreshes itself stops asking the server)."""
        self.context.close()


# Run in every page before its own scripts: each CSP violation the page reports is written to the
# console with this prefix, where the test collects it (conftest.py ``people``).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.effectiveDirective + " blocked " + (e.blockedURI || "inline") +
                " in " + e.sourceFile + ":" + e.lineNumber);
});
"""


def csp_violations(people) -> list[str]:
    """Every Content-Security-Policy violation any of these people's pages reported."""
    return [f"{person.name}: {v}" for person in people for v in person.csp_violations]


def foreign_requests(people) -> list[str]:
    """Every request any of these people made to a host other than 127.0.0.1."""
    bad = []
    for person in people:
        for url in person.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue  # made inside the page (the signature, resized photos), not fetched
            if parts.hostname not in LOCAL_HOSTS:
                bad.append(f"{person.name}: {url}")
    return bad


# --- Screenshots ------------------------------------------------------------------------------


class Screenshots:
    """Numbered full-page screenshots of each step, at phone and at desktop size."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()

    def take(self, person: Person, step: str) -> None:
        self.count += 1
        page = person.page
        own = page.viewport_size
        sizes = [(person.device, own), ("desktop" if person.device == "phone" else "phone",
                                        DESKTOP if person.device == "phone" else PHONE)]
        for label, size in sizes:
            if page.viewport_size != size:
                page.set_viewport_size(size)
            page.screenshot(path=str(self.folder / f"{self.count:02d}-{step}-{label}.png"), full_page=True)
        if page.viewport_size != own:
            page.set_viewport_size(own)

    def files(self) -> list[Path]:
        return sorted(self.folder.glob("*.png"))


# --- Accessibility (axe-core) -------------------------------------------------------------

_AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "critical" || v.impact === "serious")
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 4).map(n => n.target.join(" ") + " -> " + (n.failureSummary || "").replace(/\\s+/g, " ").slice(0, 240))}));
}"""


@functools.cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def axe_serious(page) -> list[dict]:
    """axe-core's "critical" and "serious" violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the browser's debugging protocol, not as a <script> tag: the site's
        # Content-Security-Policy allows no inline script, and the test must not weaken it.
        page.evaluate(_axe_source())
    return page.evaluate(_AXE_RUN)


# --- Untranslated text --------------------------------------------------------------------

# The words a person reads, as the page shows them: visible text nodes (and the selected option of
# visible selects), the page title, and the attributes read out or shown (placeholder, title,
# aria-label, alt, button values). Folded <details> are opened first: what they hide is shown on a tap.
# Text inside an element that declares another language (lang="en" on the language switcher) is
# meant to be in that language and is left out.
_VISIBLE_TEXT = """() => {
  const pageLang = (document.documentElement.lang || "").toLowerCase();
  const closed = [...document.querySelectorAll("details:not([open])")];
  closed.forEach(d => d.open = true);
  const foreign = el => { const holder = el.closest("[lang]"); return !!holder && holder.lang.toLowerCase() !== pageLang; };
  const shown = el => el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
  const out = [];
  if (document.title.trim()) out.push(["title", document.title.trim()]);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue.replace(/\\s+/g, " ").trim();
    const el = node.parentElement;
    if (!text || !el || el.closest("script, style, template, noscript, datalist")) continue;
    const select = el.closest("select");
    const holder = select || el;
    if (!shown(holder) || foreign(el)) continue;
    out.push([el.tagName.toLowerCase() + (el.className && typeof el.className === "string" ? "." + el.className.split(" ")[0] : ""), text]);
  }
  const attrs = ["placeholder", "title", "aria-label", "alt"];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest("script, style, template, datalist") || !shown(el) || foreign(el)) continue;
    for (const name of attrs) {
      const value = (el.getAttribute(name) || "").trim();
      if (value) out.push([el.tagName.toLowerCase() + "[" + name + "]", value]);
    }
    if (el.tagName === "INPUT" && ["submit", "button"].includes(el.type) && el.value) out.push(["input[value]", el.value]);
  }
  closed.forEach(d => d.open = false);
  return {lang: pageLang, texts: out};
}"""

# Codes and names that stay in Latin letters in a Chinese page: work-order numbers, addresses of
# pages and mailboxes, file formats and units.
_CODES = [
    re.compile(r"https?://\S+"),
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),
    re.compile(r"\bWO-\d{4}-\d{6}\b"),
    re.compile(r"\b(PDF|JPEG|PNG|WebP|MB|KB|km)\b"),
]
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def untranslated(page, *, language: str, data: list[str]) -> list[str]:
    """Text on the page that is not in ``language``: Latin words on a Chinese page, Chinese on an English one.

    ``data`` is what people typed or what the test stored (names, addresses, the description,
    part numbers...): it is shown as entered, in whatever language, and is left out.
    """
    found = page.evaluate(_VISIBLE_TEXT)
    wanted = "zh-hans" if language == "zh-hans" else "en"
    problems = [] if found["lang"] == wanted else [f"<html lang> is {found['lang']!r}, expected {wanted!r}"]
    data = sorted({d for d in data if d}, key=len, reverse=True)
    for where, text in found["texts"]:
        rest = text
        for value in data:
            rest = rest.replace(value, " ")
        for pattern in _CODES:
            rest = pattern.sub(" ", rest)
        if language == "zh-hans":
            words = _LATIN_WORD.findall(rest)
        else:
            words = _HAN.findall(rest)
        if words:
            problems.append(f"{where}: {text!r} ({' '.join(words)})")
    return problems


# --- Pictures ----------------------------------------------------------------------------------


def jpeg_file(path: Path, *, size=(1280, 960), color=(70, 130, 180)) -> Path:
    """A photo as a phone takes it (a few hundred KB)."""
    image = Image.new("RGB", size, color)
    for x in range(0, size[0], 40):  # some detail, so that the JPEG is not trivially small
        for y in range(0, size[1], 40):
            image.putpixel((x, y), (255, 255, 255))
    image.save(path, "JPEG", quality=92)
    return path


def oversized_png(path: Path, *, megabytes: float) -> Path:
    """A real PNG image of noise (noise does not compress) larger than ``megabytes``."""
    side = int(((megabytes * 1024 * 1024) / 3) ** 0.5) + 16
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    image.save(path, "PNG", compress_level=0)
    return path


def ink_bbox(png_bytes: bytes):
    """The box around the drawn strokes of a signature PNG (None when nothing was drawn)."""
    with Image.open(io.BytesIO(png_bytes)) as image:
        return image.convert("RGBA").getchannel("A").getbbox()
