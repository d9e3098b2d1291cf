"""The API's JSON parser: DRF's, with a bound on the body's size and on its nesting.

DRF's ``JSONParser`` reads the request as a stream, which skips Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` (Django checks it only when ``request.body`` or a
form is read), and hands it to ``json.load``, which recurses once per level of
nesting: ``[[[[...]]]]`` a few thousand levels deep raised ``RecursionError``, a
500. Here a body longer than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused with 413
before it is parsed, and one nested deeper than ``JSON_MAX_DEPTH`` with 400.
"""

import io

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers
from rest_framework.utils import json

JSON_MAX_DEPTH = 32


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "too_large"
    default_detail = "The request body is too large."


def json_depth_exceeds(data, limit: int) -> bool:
    """Whether ``data`` (parsed JSON) has containers nested more than ``limit`` deep
    (``{}`` is one level, ``{"a": []}`` two). Walks without recursion."""
    if not isinstance(data, (dict, list)):
        return False
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


def too_large() -> RequestTooLarge:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return RequestTooLarge(_("The request body is larger than %(n)d bytes.") % {"n": limit})


class BoundedJSONParser(parsers.JSONParser):
    """``JSONParser`` that refuses a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413) and JSON
    nested more than ``JSON_MAX_DEPTH`` levels (400), instead of failing with a 500."""

    max_depth = JSON_MAX_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parsers.get_encoding(parser_context)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise too_large()
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            raise exceptions.ParseError(_("The request body is not valid %(encoding)s.") % {"encoding": encoding}) from None
        parse_constant = json.strict_constant if self.strict else None
        try:
            data = json.loads(text, parse_constant=parse_constant)
        except RecursionError:
            data = None  # deeper than the interpreter goes: certainly too deep
            deep = True
        except ValueError as exc:
            raise exceptions.ParseError(_("The request body is not valid JSON: %(error)s") % {"error": exc}) from None
        else:
            # A body with fewer brackets than the limit cannot be nested deeper (most bodies).
            deep = (text.count("[") + text.count("{") > self.max_depth) and json_depth_exceeds(data, self.max_depth)
        if deep:
            raise exceptions.ParseError(
                _("The JSON is nested more than %(n)d levels deep.") % {"n": self.max_depth}
            )
        return data


class BoundedFormParser(parsers.FormParser):
    """``FormParser`` that refuses a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` with 413
    (the form's fields count is bounded by Django's ``DATA_UPLOAD_MAX_NUMBER_FIELDS``)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise too_large()
        return super().parse(io.BytesIO(raw), media_type, parser_context)


class BoundedMultiPartParser(parsers.MultiPartParser):
    """``MultiPartParser`` that refuses a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` with 413 before
    reading it. Django's own check counts a form's text fields only, not its files; the body is
    read no further than its ``Content-Length`` (Django's ``LimitedStream``), so the length
    declared is the most that is read."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        if limit is not None and request is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0  # Django's parser refuses it (400)
            if length > limit:
                raise too_large()
        return super().parse(stream, media_type, parser_context)
