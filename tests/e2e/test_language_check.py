"""The language check the journey relies on finds what it should, and only that.

The journey asserts that ``untranslated`` finds nothing on the customer's and the technician's
pages; this shows, on pages made for the purpose, that it does find a word left in the wrong
language, and what it leaves alone (text meant to be in another language, data, codes, hidden text).
"""

import pytest

from .support import untranslated

pytestmark = pytest.mark.e2e

CHINESE_PAGE = """<!doctype html><html lang="zh-hans"><head><title>申请服务</title></head><body>
<h1>申请服务</h1>
<p>您的工单号是 WO-2026-000123，报告为 PDF 格式，照片不超过 10 MB。</p>
<p>请 Save 您的链接：http://127.0.0.1:8000/track/abc/</p>
<label>联系人 <input placeholder="Your name"></label>
<p>Fang Wang · 88 Century Avenue</p>
<button lang="en">English</button>
<p hidden>Hidden text</p>
<details><summary>更多</summary><p>Put on hold</p></details>
<select><option>请选择</option><option>Other</option></select>
</body></html>"""

ENGLISH_PAGE = """<!doctype html><html lang="en"><head><title>Request service</title></head><body>
<h1>Request service</h1><p>Your technician: 李伟</p><p>状态：已派单</p>
<button lang="zh-hans">中文</button></body></html>"""


def test_a_word_left_in_english_on_a_chinese_page_is_found(new_context):
    page = new_context().new_page()
    page.set_content(CHINESE_PAGE)

    found = untranslated(page, language="zh-hans", data=["Fang Wang", "88 Century Avenue"])

    # the sentence with "Save", the placeholder, the folded text and the option; not the switcher,
    # the customer's name and address, the number, the link, the units, nor the hidden paragraph
    words = {w for f in found for w in f.rsplit("(", 1)[1].rstrip(")").split()}
    assert words == {"Save", "Your", "name", "Put", "on", "hold", "Other"}, found
    assert len(found) == 4, found


def test_chinese_left_on_an_english_page_is_found(new_context):
    page = new_context().new_page()
    page.set_content(ENGLISH_PAGE)

    found = untranslated(page, language="en", data=["李伟"])

    assert len(found) == 1 and "状态：已派单" in found[0], found


def test_a_page_that_declares_the_wrong_language_is_found(new_context):
    page = new_context().new_page()
    page.set_content(ENGLISH_PAGE)

    assert untranslated(page, language="zh-hans", data=["李伟"])[0] == "<html lang> is 'en', expected 'zh-hans'"
