"""The API's JSON renderer: DRF's ``JSONRenderer``, with orjson for bodies built of plain values.

A list page is some 70 KB of JSON; the standard library's encoder took a sixth of
the request's time to write it, orjson a tenth of that. orjson writes the same bytes
as DRF's renderer (compact separators, non-ASCII characters as UTF-8, the same
escapes) for dicts with string keys, lists, strings, integers, booleans and None, but
not for every other value: floats such as 1e-05, NaN, Decimal, dates with DRF's own
format. So only a body marked ``PlainBody`` by the view that built it is written by
orjson; anything else, and any body that asks for indentation (the browsable API,
``Accept: application/json; indent=4``), goes the standard way.

``ContentNegotiation`` skips DRF's parsing of the ``Accept`` header when there is
nothing to choose.
"""

import datetime

import orjson
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_LINE_SEPARATOR = "\u2028".encode()
_PARAGRAPH_SEPARATOR = "\u2029".encode()


class PlainBody(dict):
    """A response body whose values are only dicts with string keys, lists, strings,
    integers, booleans, None and timezone-aware datetimes that ``isoformat()`` writes
    in whole minutes of offset (written as ``isoformat()`` writes them, not in DRF's
    shortened form). No floats."""

    __slots__ = ()


class _PlainBodyEncoder(JSONEncoder):
    """The standard way for a ``PlainBody``: its datetimes as ``isoformat()`` writes them."""

    def default(self, obj):
        if isinstance(obj, datetime.datetime):
            return obj.isoformat()
        return super().default(obj)


class _PlainBodyJSONRenderer(JSONRenderer):
    encoder_class = _PlainBodyEncoder


_STANDARD = _PlainBodyJSONRenderer()


class FastJSONRenderer(JSONRenderer):
    """``JSONRenderer``, with orjson for a ``PlainBody`` (same bytes, a tenth of the time)."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if type(data) is not PlainBody:
            return super().render(data, accepted_media_type, renderer_context)
        renderer_context = renderer_context or {}
        if accepted_media_type == self.media_type:  # no parameters, so no indent=
            indent = renderer_context.get("indent")
        else:
            indent = self.get_indent(accepted_media_type, renderer_context)
        if indent is None and self.compact and not self.ensure_ascii:
            try:
                out = orjson.dumps(data)
            except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits: the standard way
                pass
            else:
                # As JSONRenderer: U+2028 and U+2029 escaped, so the JSON is also JavaScript.
                if b"\xe2\x80" in out:
                    out = out.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
                return out
        return _STANDARD.render(data, accepted_media_type, renderer_context)


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, with a shortcut for a request that names no format: no ``Accept``
    header (or ``*/*``) and no ``?format=`` gets the first renderer, as DRF's own answer is."""

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT")
        if (accept is None or accept == "*/*") and not format_suffix:
            override = self.settings.URL_FORMAT_OVERRIDE
            if not override or override not in request.query_params:
                return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
