"""Simplified Chinese first, English too: a complete catalog, compiled, and pages in the asked-for language.

The catalog lives in locale/<lang>/LC_MESSAGES/. After marking new strings:

    .venv/bin/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=bench --ignore=tests \
        --ignore=node_modules --ignore=staticfiles --ignore=var
    (translate every new msgid in the .po, no fuzzy entries)
    .venv/bin/python manage.py compilemessages --ignore=.venv

and commit the .po with its .mo (a fresh machine may lack gettext).
"""

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client

import config.settings as configured
from tests.factories import ServiceTypeFactory, TechnicianFactory, WorkOrderFactory, workorder_via_service
from workorders.lifecycle import Status
from workorders.models import Survey
from workorders.services import workorder_transition

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
CATALOGS = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))
ZH_PO = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po"
MAKEMESSAGES_IGNORE = [".venv", "bench", "tests", "node_modules", "staticfiles", "var"]
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%]")


def catalog_ids(po):
    return pytest.param(po, id=f"{po.parent.parent.name}/{po.name}")


def entries(po_path):
    return [e for e in polib.pofile(str(po_path)) if not e.obsolete]


def translations(entry):
    return list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]


def mo_catalog(path) -> dict:
    with open(path, "rb") as fp:
        catalog = dict(gettext.GNUTranslations(fp)._catalog)
    catalog.pop("", None)  # the header
    return catalog


def po_catalog(po_path) -> dict:
    """What msgfmt puts in the .mo for this .po: every translated, non-fuzzy message."""
    catalog = {}
    for e in entries(po_path):
        if e.fuzzy or not all(translations(e)):
            continue
        key = f"{e.msgctxt}\x04{e.msgid}" if e.msgctxt else e.msgid
        if e.msgid_plural:
            for index, text in sorted(e.msgstr_plural.items()):
                catalog[(key, int(index))] = text
        else:
            catalog[key] = e.msgstr
    return catalog


# --- the catalog ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _project_default_language(settings):
    """tests/conftest.py makes English the default for the rest of the suite; here it is the real one."""
    settings.LANGUAGE_CODE = configured.LANGUAGE_CODE


def test_chinese_is_the_default_and_english_is_offered():
    assert configured.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _name in configured.LANGUAGES] == ["zh-hans", "en"]
    assert ZH_PO.exists() and ZH_PO.with_suffix(".mo").exists()


@pytest.mark.parametrize("po_path", [catalog_ids(p) for p in CATALOGS])
def test_every_message_is_translated_and_none_is_fuzzy(po_path):
    po = polib.pofile(str(po_path))
    assert not po.metadata_is_fuzzy, "the header is marked fuzzy"
    assert "nplurals=1" in po.metadata.get("Plural-Forms", ""), "Chinese has one plural form"
    untranslated = [e.msgid for e in entries(po_path) if not all(translations(e))]
    fuzzy = [e.msgid for e in entries(po_path) if e.fuzzy]
    assert untranslated == [], f"{len(untranslated)} untranslated, e.g. {untranslated[:5]}"
    assert fuzzy == [], f"{len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"
    assert len(entries(po_path)) > 100  # a real catalog, not an empty file that passes trivially


@pytest.mark.parametrize("po_path", [catalog_ids(p) for p in CATALOGS])
def test_translations_keep_every_placeholder(po_path):
    broken = []
    for e in entries(po_path):
        if "python-format" not in e.flags:
            continue
        wanted = set(PLACEHOLDER.findall(e.msgid)) | set(PLACEHOLDER.findall(e.msgid_plural or ""))
        for text in translations(e):
            if set(PLACEHOLDER.findall(text)) != wanted:
                broken.append((e.msgid, text))
    assert broken == []


@pytest.mark.parametrize("po_path", [catalog_ids(p) for p in CATALOGS])
def test_the_committed_mo_is_compiled_from_the_current_po(po_path):
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} is missing: run compilemessages"
    assert mo_catalog(mo_path) == po_catalog(po_path), f"{mo_path} is stale: run compilemessages"


@pytest.mark.parametrize("po_path", [catalog_ids(p) for p in CATALOGS])
def test_msgfmt_accepts_the_po_and_compiles_what_is_committed(po_path, tmp_path):
    if shutil.which("msgfmt") is None:
        pytest.skip("msgfmt (GNU gettext) is not installed")
    fresh = tmp_path / "fresh.mo"
    result = subprocess.run(
        ["msgfmt", "--check", "-o", str(fresh), str(po_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert mo_catalog(fresh) == mo_catalog(po_path.with_suffix(".mo"))


def test_every_string_marked_in_the_code_is_in_the_catalog(tmp_path):
    """A string marked after the last makemessages would show in English on a Chinese page."""
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        pytest.skip("xgettext/msgmerge (GNU gettext) are not installed")
    base, copy = Path(settings.BASE_DIR), tmp_path / "src"
    copy.mkdir()
    shutil.copy2(base / "manage.py", copy)
    apps = [name.split(".")[0] for name in settings.INSTALLED_APPS if (base / name.split(".")[0]).is_dir()]
    for name in ["config", "templates", *apps]:
        shutil.copytree(base / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "locale"))
    (copy / "locale").mkdir()
    command = [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete"]
    command += [f"--ignore={name}" for name in MAKEMESSAGES_IGNORE]
    environment = {**os.environ, "VAR_DIR": str(tmp_path / "var")}
    result = subprocess.run(command, cwd=copy, capture_output=True, text=True, env=environment)
    assert result.returncode == 0, result.stderr
    fresh = {(e.msgctxt, e.msgid) for e in entries(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")}
    committed = {(e.msgctxt, e.msgid) for e in entries(ZH_PO)}
    assert sorted(m for _c, m in fresh - committed) == [], "run makemessages and translate the new strings"


# --- pages in the asked-for language --------------------------------------------------------


def browser(language):
    return Client(HTTP_ACCEPT_LANGUAGE=language)


def resolved_order(language):
    """A work order a technician finished: its survey is waiting for the customer."""
    tech = TechnicianFactory()
    wo = workorder_via_service(language=language)
    workorder_transition(work_order_id=wo.pk, action="assign", actor_role="system", technician_id=tech.pk)
    for action in ("accept", "depart", "arrive", "complete"):
        workorder_transition(work_order_id=wo.pk, action=action, actor=tech.user)
    return wo


@pytest.fixture
def pages(db, technician):
    """The customer's and the technician's pages, each with words that only its language shows."""
    ServiceTypeFactory(name="Air conditioner repair")
    tracked = workorder_via_service()
    # The survey speaks the language the customer was written to (their request's language).
    surveys = {lang: Survey.objects.get(work_order=resolved_order(lang)).token for lang in ("zh-hans", "en")}
    job = WorkOrderFactory(technician=technician, status=Status.ASSIGNED)
    same = lambda url: {"zh-hans": url, "en": url}  # noqa: E731
    return {
        "request form": (None, same("/request/"), ["告诉我们遇到的问题", "您的姓名", "提交申请"],
                         ["Tell us what is wrong", "Your name", "Send request"]),
        "tracking": (None, same(f"/track/{tracked.public_token}/"), ["当前进度", "待受理", "我们已收到您的服务申请"],
                     ["Where it stands", "We have received your request"]),
        "survey": (None, {lang: f"/survey/{token}/" for lang, token in surveys.items()}, ["我们的服务怎么样？", "5 – 非常满意", "提交评价"],
                   ["How did we do?", "Very satisfied", "Send my answer"]),
        "my jobs": (technician.user, same("/tech/"), ["我的工单", "今天", "明天"],
                    ["My jobs", "Tomorrow", "No jobs for tomorrow"]),
        "job": (technician.user, same(f"/tech/jobs/{job.pk}/"), ["客户与地点", "导航", "接单", "拒单", "已派单"],
                ["Customer and site", "Navigate", "Reject the job", "Why do you reject"]),
    }


PAGES = ["request form", "tracking", "survey", "my jobs", "job"]


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_a_phone_set_to_chinese_gets_the_page_in_chinese(pages, page):
    # Given a customer's or technician's phone whose browser prefers Chinese (China)
    user, urls, chinese, english = pages[page]
    client = browser("zh-CN,zh;q=0.9")
    if user:
        client.force_login(user)

    # When they open the page
    response = client.get(urls["zh-hans"])

    # Then it is in Simplified Chinese, with no English left over
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in html
    assert [w for w in chinese if w not in html] == []
    assert [w for w in english if w in html] == []


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_a_phone_set_to_english_gets_the_page_in_english(pages, page):
    user, urls, chinese, english = pages[page]
    client = browser("en-US,en;q=0.9")
    if user:
        client.force_login(user)

    html = client.get(urls["en"]).content.decode()

    assert '<html lang="en">' in html
    assert [w for w in english if w not in html] == []
    assert [w for w in chinese if w in html] == []


@pytest.mark.django_db
def test_a_browser_without_a_preference_gets_chinese(service_type):
    html = Client().get("/request/").content.decode()
    assert "提交申请" in html and "Send request" not in html


@pytest.mark.django_db
def test_errors_from_the_service_layer_come_in_the_page_language(service_type):
    # Given a customer on a Chinese phone who sends the form with a bad phone number
    form = {"contact_name": "王芳", "contact_phone": "12345", "address": "世纪大道 88 号",
            "service_type": service_type.pk, "description": "空调漏水", "priority": 2}

    response = browser("zh-CN").post("/request/", form)

    # Then the page says what is wrong in Chinese
    html = response.content.decode()
    assert response.status_code == 400
    assert "请检查下方标出的字段。" in html and "请输入有效的手机号码" in html
    assert "Enter a valid mobile phone number" not in html


@pytest.mark.django_db
def test_the_language_switcher_changes_the_language_and_keeps_it(service_type):
    # Given a customer on a Chinese phone, reading the request form in Chinese
    client = browser("zh-CN")
    html = client.get("/request/").content.decode()
    assert "提交申请" in html and 'name="language" value="en"' in html

    # When they press "English" in the header
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/request/"})

    # Then they are back on the form, now in English, and it stays English on the next visit
    assert response.status_code == 302 and response["Location"] == "/request/"
    for _visit in range(2):
        html = client.get("/request/").content.decode()
        assert "Send request" in html and "提交申请" not in html
    assert 'name="language" value="zh-hans"' in html

    # And "中文" brings Chinese back
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/request/"})
    html = client.get("/request/").content.decode()
    assert "提交申请" in html and "Send request" not in html
