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
    end = marks[-1] + 1
    while end < len(text) and text[end] in "）)】」。！？":  # "铜管（保温）" keeps its bracket, a sentence its full stop
        end += 1
    head, tail = text[:end], text[end:]
    tail = tail.strip(_SEPARATORS)
    if tail and _ENGLISH_WORD.search(tail):
        return head.strip(" \t/|｜-–—:：,，;；"), tail
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

    first, second = _languages()
    text = CharField()
    return Coalesce(NullIf(F(f"{path}_{first}"), Value("")), NullIf(F(f"{path}_{second}"), Value("")), F(path),
                    output_field=text)


def _languages() -> tuple[str, str]:
    """The column suffixes in reading order: the active language's first."""
    from django.utils.translation import get_language

    return ("en", "zh_hans") if (get_language() or "").startswith("en") else ("zh_hans", "en")


def sql_translated(column: str) -> str:
    """SQL for a translated column in raw queries (``p.name``): the active language's value, else the
    other's, else the plain column. ``column`` is code, never input."""
    first, second = _languages()
    return f"COALESCE(NULLIF({column}_{first}, ''), NULLIF({column}_{second}, ''), {column})"


def bilingual(field: str, text: str) -> dict:
    """Model keyword arguments for a mixed name: ``bilingual("name", "空调维修 Air conditioner repair")``
    is ``{"name": "空调维修", "name_zh_hans": "空调维修", "name_en": "Air conditioner repair"}`` (the plain
    column first, so that an update's translated values are set after it)."""
    chinese, english = split_bilingual(text)
    return {field: chinese or english, f"{field}_zh_hans": chinese or None, f"{field}_en": english or None}
