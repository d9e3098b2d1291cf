"""Importing master data from CSV and XLSX files: what django-import-export does not do itself.

The library reads the file, matches rows on a key (``import_id_fields``), previews a dry run,
skips unchanged rows and writes in a transaction. This module adds, for every app's resources:

- reading CSV as UTF-8 or, failing that, GB18030 (which covers GBK), and refusing a file that
  is neither, or that is not text at all (``SniffedCSV``); XLSX through openpyxl (``CheckedXLSX``);
- headers in English or Chinese (``Column``: a key, an English label and its translation; the
  template's headers say both), a missing or unknown column as one error for the whole file;
- per-row checks before a row is read: a cell that would run as a formula in a spreadsheet, a key
  that appears twice in the file, a required cell left empty -- each a validation error naming
  the column, so the preview lists line, column and reason;
- exports and templates written through ``core/exports.py`` (formula-like text escaped);
- the record of an import in Django's admin log (``record_import``): one entry per file;
- the purge of uploads whose preview was never confirmed (``purge_import_files``, from beat).

Line numbers are the file's: the header is line 1, the first data row line 2.
"""

from __future__ import annotations

import logging
import re
from copy import copy
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone as dt_timezone
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.utils import translation
from django.utils.encoding import force_str
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_lazy as _
from diff_match_patch import diff_match_patch
from import_export import resources, widgets
from import_export.formats import base_formats

from .errors import InvalidInput
from .i18n import split_bilingual
from .exports import FORMULA_STARTS, csv_bytes, xlsx_bytes
from .validation import normalize_phone

logger = logging.getLogger(__name__)

# Where an uploaded file waits between the preview and the confirmation (the library's MediaStorage:
# this folder of the "import_export" storage if there is one, else of the default storage).
IMPORT_FILE_FOLDER = "django-import-export"

# How many rows of a dry run carry a per-cell preview (the rest are counted only).
PREVIEW_ROWS = 200

# A "+" or "-" in front of a number or a phone number is data, not a formula.
_NUMERIC = re.compile(r"^[+-][\d\s().\-]*\d[\d\s().\-]*$")


def import_progress_key(job: str) -> str:
    """The cache key of a background import's progress (core/tasks.py)."""
    return f"import-progress:{job}"


class ImportFileError(Exception):
    """The file as a whole cannot be read (encoding, format, columns): nothing is imported."""


def unescape_cell(value):
    """A cell as the import reads it: an apostrophe put in front of formula-like text by our
    exports is taken off again; other text is trimmed."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def cell_value(raw):
    """A cell's value as the rows are imported: unescaped and trimmed, a date-time cell its date,
    and an XLSX number cell holding a code or a phone number (1001.0) the text "1001"."""
    return typed_cell(unescape_cell(raw))


def typed_cell(value):
    """A date-time cell as its date; a whole number (an XLSX cell 1001.0 or 1001) as text."""
    if isinstance(value, datetime):
        value = value.date()
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value


def column_values(dataset, column: str) -> set:
    """The non-empty values of a column as the rows will read them (for ``prepare``'s look-ups)."""
    if column not in (dataset.headers or ()):
        return set()
    return {str(v) for v in map(cell_value, dataset[column]) if v not in (None, "")}


def is_formula(value) -> bool:
    """True for text a spreadsheet would run (``=SUM(..)``, ``@cmd``, ``-2+3``), not for
    ``+86 138 1234 5678`` or ``-12.5``."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return False
    return not _NUMERIC.match(value)


# --- formats -----------------------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else GB18030 (a superset of GBK)."""
    if b"\x00" in data[:65536]:
        raise ImportFileError(_("This is not a text file. Save it as CSV (UTF-8 or GBK) or XLSX."))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(_("The file could not be read as UTF-8 or GBK text. Save it as CSV (UTF-8) or XLSX."))


class SniffedCSV(base_formats.CSV):
    """CSV read as bytes and decoded as UTF-8 or GBK; written through core/exports.py."""

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        text = decode_text(in_stream) if isinstance(in_stream, bytes) else in_stream
        try:
            return super().create_dataset(text, **kwargs)
        except Exception as error:  # tablib's csv reader: a broken quote, a line too long
            raise ImportFileError(_("The CSV file could not be read: %(error)s") % {"error": error}) from error

    def export_data(self, dataset, **kwargs):
        return csv_bytes(list(dataset.headers or ()), list(dataset))


class CheckedXLSX(base_formats.XLSX):
    """XLSX; a file that is not one is refused with a sentence, not a traceback."""

    def create_dataset(self, in_stream):
        try:
            return super().create_dataset(in_stream)
        except Exception as error:
            raise ImportFileError(_("The file is not a readable XLSX workbook.")) from error

    def export_data(self, dataset, **kwargs):
        return xlsx_bytes("data", list(dataset.headers or ()), list(dataset))


FORMATS = [SniffedCSV, CheckedXLSX]


# --- the preview ------------------------------------------------------------------------------


class PlainDiff(resources.Diff):
    """The preview's cell changes as <ins>/<del> without style attributes, which the site's
    Content-Security-Policy refuses (the library's import.css colours them)."""

    TAGS = {-1: "<del>%s</del>", 0: "<span>%s</span>", 1: "<ins>%s</ins>"}

    def as_html(self):
        cells = []
        matcher = diff_match_patch()
        for before, after in zip(self.left, self.right):
            if before != after and self.new:
                before = ""
            parts = matcher.diff_main(force_str(before), force_str(after))
            matcher.diff_cleanupSemantic(parts)
            cells.append(mark_safe("".join(self.TAGS[op] % escape(text) for op, text in parts)))
        return cells


# --- columns and resources ---------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str  # the header in files and the resource field's column_name
    label: object  # a lazy translation: the English label, with its Chinese translation
    required: bool = False
    in_template: bool = True  # False: read when a file has it, not offered in the template

    def headers(self) -> set[str]:
        with translation.override("en"):
            english = str(self.label)
        with translation.override("zh-hans"):
            chinese = str(self.label)
        return {_fold(h) for h in (self.key, english, chinese, template_header(self))}


def _fold(header) -> str:
    return " ".join(str(header or "").replace("\ufeff", "").split()).lower()


def template_header(column: Column) -> str:
    """The header a downloaded template uses: the key and the Chinese label, e.g. ``phone 手机号``."""
    with translation.override("zh-hans"):
        return f"{column.key} {column.label}"


class MasterDataResource(resources.ModelResource):
    """A model resource for a master-data import: see the module's docstring.

    Subclasses set ``columns`` (every column the file may have, in template order) and
    ``key_columns`` (the columns whose values together name one row: no two rows of a file may
    share them).
    """

    columns: tuple[Column, ...] = ()
    key_columns: tuple[str, ...] = ()

    class Meta:
        skip_unchanged = True
        report_skipped = True
        use_transactions = True
        skip_admin_log = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.progress = None  # a background import's callback: progress(rows done, rows)
        self._total = 0
        # Per-instance options: the dry run shows a diff for the first rows only.
        self._meta = copy(self._meta)

    def get_diff_class(self):
        return PlainDiff

    # headers

    def before_import(self, dataset, **kwargs):
        self.line_of_key = {}
        self.duplicate_lines = {}
        self._total = len(dataset)
        try:
            self.check_headers(dataset)
        except ImportFileError:
            del dataset[0 : len(dataset)]  # no rows are looked at when the file is refused
            raise
        # Keys read as the rows will be: by prepare's look-ups and by the instance loader, which
        # reads the dataset before before_import_row (an XLSX employee number 1001.0 is "1001").
        for index, row in enumerate(dataset):
            if any(isinstance(v, (int, float, datetime)) for v in row):
                dataset[index] = tuple(typed_cell(v) for v in row)
        for number, row in enumerate(dataset.dict, start=2):
            key = tuple(cell_value(row.get(k)) for k in self.key_columns)
            if all(part in (None, "") for part in key):
                continue
            if key in self.line_of_key:
                self.duplicate_lines[number] = self.line_of_key[key]
            else:
                self.line_of_key[key] = number
        self.prepare(dataset, **kwargs)

    def check_headers(self, dataset):
        if not dataset.headers or not any(dataset.headers):
            raise ImportFileError(_("The file has no header row."))
        lookup = {}
        for column in self.columns:
            for header in column.headers():
                lookup[header] = column.key
        renamed, unknown, seen = [], [], set()
        for header in dataset.headers:
            key = lookup.get(_fold(header))
            if key is None:
                if header not in (None, ""):
                    unknown.append(str(header))
                renamed.append(str(header or ""))
                continue
            if key in seen:
                raise ImportFileError(_("The column “%(column)s” appears twice.") % {"column": key})
            seen.add(key)
            renamed.append(key)
        missing = [c.key for c in self.columns if c.required and c.key not in seen]
        problems = []
        if missing:
            problems.append(gettext("Missing columns: %(columns)s.") % {"columns": ", ".join(missing)})
        if unknown:
            problems.append(gettext("Unknown columns: %(columns)s.") % {"columns": ", ".join(unknown)})
        if problems:
            expected = ", ".join(c.key for c in self.columns)
            problems.append(gettext("The columns are: %(columns)s.") % {"columns": expected})
            raise ImportFileError(" ".join(problems))
        dataset.headers = renamed

    def prepare(self, dataset, **kwargs):
        """Read what the rows refer to, once per file (subclasses)."""

    # rows

    def import_row(self, row, instance_loader, **kwargs):
        # The library's diff (a deep copy of each row's object, its fields read twice, HTML) is
        # only made for the rows the preview shows; the others are compared more cheaply for
        # skip_unchanged (after_init_instance, skip_row).
        number = kwargs.get("row_number", 0)
        self._meta.skip_diff = not kwargs.get("dry_run") or number > PREVIEW_ROWS
        if self.progress and number % 500 == 0:
            self.progress(number, self._total)
        return super().import_row(row, instance_loader, **kwargs)

    def get_import_fields(self):
        if not hasattr(self, "_import_fields"):
            self._import_fields = super().get_import_fields()
        return self._import_fields

    def _values(self, instance) -> list:
        return [f.get_value(instance) for f in self.get_import_fields()]

    def after_init_instance(self, instance, new, row, **kwargs):
        self._values_before = None if new or not self._meta.skip_diff else self._values(instance)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if not self._meta.skip_diff:
            return super().skip_row(instance, original, row, import_validation_errors)
        return bool(
            self._meta.skip_unchanged
            and not import_validation_errors
            and self._values_before is not None
            and self._values(instance) == self._values_before
        )

    def before_import_row(self, row, **kwargs):
        errors = {}
        for name in list(row):
            raw = row[name]
            value = cell_value(raw)
            # Text our exports marked with an apostrophe is text; a bare formula is refused.
            marked = isinstance(raw, str) and raw.strip().startswith("'")
            row[name] = value
            if is_formula(value) and not marked:
                errors[name] = [_("A cell may not start with = + - or @ (a spreadsheet formula): %(value)s")
                                % {"value": value[:40]}]
        for column in self.columns:
            if column.required and row.get(column.key) in (None, "") and column.key not in errors:
                errors[column.key] = [_("This column is required.")]
        line = kwargs.get("row_number", 0) + 1
        if line in self.duplicate_lines:
            first = self.duplicate_lines[line]
            errors.setdefault(self.key_columns[0], []).append(
                _("The same key is already on line %(line)s of this file.") % {"line": first}
            )
        for column, limit in self._lengths().items():
            value = row.get(column)
            if isinstance(value, str) and len(value) > limit and column not in errors:
                errors[column] = [_("At most %(count)s characters.") % {"count": limit}]
        if not errors:
            self.check_row(row, errors, line)
        if errors:
            raise ValidationError(errors)

    def _lengths(self) -> dict:
        """The longest text each column may hold (the model field's max_length), read once."""
        if not hasattr(self, "_max_lengths"):
            self._max_lengths = {}
            for field in self.fields.values():
                try:
                    model_field = self._meta.model._meta.get_field(field.attribute)
                except Exception:
                    continue
                if getattr(model_field, "max_length", None) and not model_field.is_relation:
                    self._max_lengths[field.column_name] = model_field.max_length
        return self._max_lengths

    def check_row(self, row, errors: dict, line: int):
        """Add ``{column: [message]}`` for what is wrong with the row on ``line`` (subclasses)."""

    # errors name the file's columns, not the model's fields

    def _by_column(self, error: ValidationError) -> ValidationError:
        if not hasattr(error, "error_dict"):
            return error
        columns = {f.attribute: f.column_name for f in self.fields.values() if f.attribute}
        return ValidationError({columns.get(name, name): value for name, value in error.error_dict.items()})

    def import_instance(self, instance, row, **kwargs):
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            raise self._by_column(error) from None

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        try:
            super().validate_instance(instance, import_validation_errors, validate_unique)
        except ValidationError as error:
            raise self._by_column(error) from None

    # exports and templates

    def template_headers(self) -> list[str]:
        return [template_header(c) for c in self.columns if c.in_template]


# --- widgets: how a cell becomes a value ---------------------------------------------------------


class PhoneWidget(widgets.CharWidget):
    """A mobile number, normalised as intake normalises it (core/validation.py)."""

    def __init__(self, cache: dict | None = None, blank: bool = False):
        super().__init__()
        self.cache = cache if cache is not None else {}
        self.blank = blank  # an empty cell is allowed (and stored empty)

    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value)
        if self.blank and not text.strip():
            return ""
        if text not in self.cache:
            try:
                self.cache[text] = normalize_phone(text)
            except InvalidInput as exc:
                self.cache[text] = exc
        result = self.cache[text]
        if isinstance(result, Exception):
            raise ValueError(str(result.message))
        return result


class ChoiceWidget(widgets.CharWidget):
    """A choice given by its stored value or its label in English or Chinese; empty is the default."""

    def __init__(self, choices, aliases: dict | None = None, default: str = ""):
        super().__init__()
        self.choices, self.aliases, self.default = choices, aliases or {}, default

    def lookup(self) -> dict:
        table = dict(self.aliases)
        for value, label in self.choices:
            table[value.lower()] = value
            for language in ("en", "zh-hans"):
                with translation.override(language):
                    table[str(label).lower()] = value
        return table

    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value).strip()
        if not text:
            return self.default
        table = getattr(self, "_table", None) or self.lookup()
        self._table = table
        if text.lower() not in table:
            allowed = ", ".join(v for v, _label in self.choices)
            raise ValueError(gettext("“%(value)s” is not one of: %(allowed)s.") % {"value": text, "allowed": allowed})
        return table[text.lower()]


class LookupWidget(widgets.ForeignKeyWidget):
    """A foreign key named by a code, resolved from a map the resource fills once per file."""

    def __init__(self, model, field, render_attr=None):
        super().__init__(model, field)
        self.found = {}
        self.render_attr = render_attr

    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return None
        return self.found.get(self.key(value, row))

    def key(self, value, row):
        return str(value)


class DateWidget(widgets.DateWidget):
    def clean(self, value, row=None, **kwargs):
        return parse_date(value)

    def render(self, value, obj=None, **kwargs):
        return value.isoformat() if value else ""


class YesNoWidget(widgets.BooleanWidget):
    """yes/no, true/false, 1/0, 是/否 (any case); empty is ``default``."""

    TRUE = {"yes", "y", "true", "1", "是", "x"}
    FALSE = {"no", "n", "false", "0", "否"}

    def __init__(self, default=True):
        super().__init__()
        self.default = default

    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value).strip().lower()
        if text == "":
            return self.default
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValueError(gettext("Enter yes or no."))

    def render(self, value, obj=None, **kwargs):
        return "yes" if value else "no"


def translated_columns(field: str, label, label_chinese, label_english) -> tuple[Column, ...]:
    """The columns of a field kept in both languages (django-modeltranslation, core/i18n.py):
    ``name_zh_hans`` and ``name_en``, and ``name`` as files had it before, one mixed name
    ("空调维修 Air conditioner repair") that ``check_translated`` splits. Not in the template."""
    return (
        Column(f"{field}_zh_hans", label_chinese),
        Column(f"{field}_en", label_english),
        Column(field, label, in_template=False),
    )


def check_translated(row, errors: dict, field: str = "name", *, required: bool = True, max_length: int | None = None):
    """A translated field's cells: a ``name`` cell (one mixed name) fills the ``name_zh_hans`` and
    ``name_en`` cells the file leaves empty; with ``required``, one of the two must be there."""
    mixed = row.get(field)
    if mixed not in (None, ""):
        chinese, english = split_bilingual(str(mixed))
        for language, value in (("zh_hans", chinese), ("en", english)):
            if value and row.get(f"{field}_{language}") in (None, ""):
                row[f"{field}_{language}"] = value
    columns = [f"{field}_zh_hans", f"{field}_en"]
    if required and all(row.get(c) in (None, "") for c in columns):
        errors[columns[0]] = [_("Enter it in Chinese or in English (or both).")]
    for column in columns:
        value = row.get(column)
        if max_length and isinstance(value, str) and len(value) > max_length:
            errors[column] = [_("At most %(count)s characters.") % {"count": max_length}]


def check_coordinates(row, errors: dict, latitude: str, longitude: str) -> None:
    """Latitude and longitude columns, when filled, are numbers within ±90 and ±180."""
    for column, limit in ((latitude, 90), (longitude, 180)):
        value = row.get(column)
        if value in (None, ""):
            continue
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            errors[column] = [_("Enter a number.")]
            continue
        if not number.is_finite() or not -limit <= number <= limit:
            errors[column] = [_("Between -%(limit)s and %(limit)s.") % {"limit": limit}]


def parse_skills(text) -> dict[str, int]:
    """``hvac:3;electrical:2`` (or with ， ； ： 、) as {code: level}; ValueError with a sentence."""
    levels = {}
    normalized = str(text or "")
    for mark, plain in (("；", ";"), ("，", ";"), (",", ";"), ("、", ";"), ("：", ":")):
        normalized = normalized.replace(mark, plain)
    for part in filter(None, (p.strip() for p in normalized.split(";"))):
        code, _sep, level = part.partition(":")
        code = code.strip()
        try:
            number = int(level.strip() or 1)
        except ValueError:
            raise ValueError(_("Write skills as code:level, for example hvac:3;electrical:2.")) from None
        if not 1 <= number <= 5:
            raise ValueError(_("A skill level is 1 to 5 (%(skill)s).") % {"skill": code})
        levels[code] = number
    return levels


def check_skills(row, errors: dict, known, column: str = "skills") -> None:
    """The ``skills`` cell parsed (``parse_skills``) into ``row["_levels"]``, each code one of
    ``known``; else a message under the column."""
    try:
        levels = parse_skills(row.get(column))
    except ValueError as error:
        errors[column] = [str(error)]
        return
    unknown = sorted(code for code in levels if code not in known)
    if unknown:
        errors[column] = [_("Unknown skill codes: %(codes)s.") % {"codes": ", ".join(unknown)}]
    row["_levels"] = levels


def parse_date(value):
    """A date cell: an XLSX date, or text as 2024-03-01, 2024/3/1, 2024.3.1 or 2024年3月1日."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", str(value).strip())
    if match:
        try:
            return date(*(int(part) for part in match.groups()))
        except ValueError:
            pass
    raise ValueError(gettext("Enter the date as YYYY-MM-DD, for example 2024-03-01."))


def result_counts(result) -> dict:
    totals = result.totals
    return {
        "new": totals.get("new", 0),
        "update": totals.get("update", 0),
        "skip": totals.get("skip", 0),
        "invalid": totals.get("invalid", 0) + totals.get("error", 0),
    }


def record_import(*, user, model, file_name: str, result) -> LogEntry:
    """One entry in Django's admin log (``django_admin_log``) per imported file: who, when (the
    entry's time), which file, how many rows were created, updated and skipped."""
    counts = result_counts(result)
    with translation.override(settings.LANGUAGE_CODE):
        message = gettext("Imported file %(file)s: %(new)s new, %(update)s updated, %(skip)s unchanged.") % {
            "file": file_name, **counts,
        }
    return LogEntry.objects.create(
        user_id=user.pk,
        content_type=ContentType.objects.get_for_model(model),
        object_id=None,
        object_repr=(file_name or "")[:200],
        action_flag=ADDITION,
        change_message=message,
    )


def purge_import_files(*, max_age_seconds: int | None = None, now: datetime | None = None) -> int:
    """Delete the uploads waiting under ``IMPORT_FILE_FOLDER`` that are older than
    ``IMPORT_FILE_MAX_AGE_SECONDS``: previews nobody confirmed (a confirmed import removes its own
    file). Returns how many were deleted; a file that cannot be read or deleted is left for the next run."""
    max_age = settings.IMPORT_FILE_MAX_AGE_SECONDS if max_age_seconds is None else max_age_seconds
    storage = storages["import_export"] if "import_export" in settings.STORAGES else storages["default"]
    cutoff = (now or datetime.now(dt_timezone.utc)) - timedelta(seconds=max_age)
    try:
        _folders, names = storage.listdir(IMPORT_FILE_FOLDER)
    except (FileNotFoundError, NotADirectoryError):
        return 0  # nothing was ever uploaded
    deleted = 0
    for name in names:
        path = f"{IMPORT_FILE_FOLDER}/{name}"
        try:
            modified = storage.get_modified_time(path)
            if modified.tzinfo is None:
                modified = modified.replace(tzinfo=dt_timezone.utc)
            if modified < cutoff:
                storage.delete(path)
                deleted += 1
        except Exception as exc:  # one unreadable file must not stop the others
            logger.warning("could not purge the import file %s (%s)", path, exc)
    if deleted:
        logger.info("purged %d import file(s) older than %d s", deleted, max_age)
    return deleted
