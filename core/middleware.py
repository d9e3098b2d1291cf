"""Middleware of this project."""

from csp.constants import HEADER
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.core.signals import setting_changed
from django.dispatch import receiver
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


# --- Content-Security-Policy ------------------------------------------------------------------

# Attributes django-csp's decorators (csp, csp_update, csp_replace) set on a response.
_CSP_OVERRIDES = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")
_csp_header: dict[str, str] = {}


@receiver(setting_changed)
def _csp_settings_changed(*, setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _csp_header.clear()


class CSPMiddleware(DjangoCSPMiddleware):
    """django-csp's middleware, with the site's policy built once per process.

    django-csp builds the header from the settings on every response (~30 µs; the busiest API
    list and pages take ~1 ms of CPU in all). A response that carries a policy of its own (the
    decorators), a page that used a nonce, a report-only policy and Django's debug pages go
    through django-csp's own code, as before.
    """

    def process_response(self, request, response):
        if (
            getattr(request, "_csp_nonce", None) is not None
            or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
            or (settings.DEBUG and response.status_code in (404, 500))
            or any(hasattr(response, name) for name in _CSP_OVERRIDES)
        ):
            return super().process_response(request, response)
        header = _csp_header.get("enforced")
        if header is None:
            header = _csp_header["enforced"] = build_policy()
        if header and HEADER not in response and not getattr(response, "_csp_exempt", False):
            excluded = (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if not request.path_info.startswith(tuple(excluded)):
                response[HEADER] = header
        return response
