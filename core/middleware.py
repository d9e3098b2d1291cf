"""Middleware of this project."""

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's ``LocaleMiddleware``, without its URL-prefix work when the URLconf has no
    ``i18n_patterns()`` (ours has none): Django's looks for a language code at the start of
    every request's path twice, a regular expression and a language lookup each time, for
    a result it then uses only with ``i18n_patterns()``. The language is chosen as Django
    chooses it (cookie, then ``Accept-Language``, then ``LANGUAGE_CODE``), the response
    gets the same ``Vary: Accept-Language`` and ``Content-Language``; with
    ``i18n_patterns()`` this is Django's middleware unchanged."""

    def process_request(self, request):
        if is_language_prefix_patterns_used(getattr(request, "urlconf", settings.ROOT_URLCONF))[0]:
            return super().process_request(request)
        translation.activate(translation.get_language_from_request(request, check_path=False))
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request, response):
        if is_language_prefix_patterns_used(getattr(request, "urlconf", settings.ROOT_URLCONF))[0]:
            return super().process_response(request, response)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
