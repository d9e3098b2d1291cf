"""Master data in two languages (django-modeltranslation, see docs/architecture.md).

``split_bilingual`` takes one of the mixed names the master data carried before it had a
column per language ("空调维修 Air conditioner repair") apart into its Chinese and its English
part; the migrations that added the columns, the imports and the demo data use it.
"""

from __future__ import annotations

import re

# Han characters: the marks of the Chinese part (full-width brackets around the English part are
# separators).
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# An English part has at least one lower-case word ("R32" or "KFR-35GW" alone is a model code).
_ENGLISH_WORD = re.compile(r"[a-z]{2,}")
_SEPARATORS = " \t/|｜-–—:：,，;；()（）"


def split_bilingual(text: str | None) -> tuple[str, str]:
    """``(chinese, english)`` of a name: "空调维修 Air conditioner repair" gives both parts, as
    does "Air conditioner repair 空调维修"; a name in one language gives that one and "" for the
    other. Model codes and numbers stay with the Chinese part ("R32 冷媒 Refrigerant R32" is
    "R32 冷媒" and "Refrigerant R32")."""
    text = " ".join((text or "").split())
    if not text:
        return "", ""
    marks = [m.start() for m in _CJK.finditer(text)]
    if not marks:
        return "", text
    # Chinese first: everything up to the last Chinese mark, English after it.
    head, tail = text[: marks[-1] + 1], text[marks[-1] + 1 :]
    tail = tail.strip(_SEPARATORS)
    if tail and _ENGLISH_WORD.search(tail):
        return head.strip(_SEPARATORS), tail
    # English first: everything before the first Chinese mark.
    head, tail = text[: marks[0]], text[marks[0] :]
    english = head.strip(_SEPARATORS)
    if english and _ENGLISH_WORD.search(english) and not _CJK.search(english):
        return tail.strip(_SEPARATORS), english
    return text, ""


def has_chinese(text: str | None) -> bool:
    """Whether ``text`` holds a Han character (the language scan of the journey tests uses it too)."""
    return bool(_CJK.search(text or ""))


def translated(path: str):
    """A query expression for a translated field reached through a relation
    (``"service_type__name"``), in the active language with the other as fallback.

    django-modeltranslation reads ``name`` in the active language on the model itself, but a
    lookup through a relation in ``values()`` or ``order_by()`` reads the plain column; use
    ``.values(service_type__name=translated("service_type__name"))`` there.
    """
    from django.db.models import CharField, F, Value
    from django.db.models.functions import Coalesce, NullIf
    from django.utils.translation import get_language

    first, second = ("en", "zh_hans") if (get_language() or "").startswith("en") else ("zh_hans", "en")
    text = CharField()
    return Coalesce(NullIf(F(f"{path}_{first}"), Value("")), NullIf(F(f"{path}_{second}"), Value("")), F(path),
                    output_field=text)
