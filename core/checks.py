"""System checks of settings every part of the system relies on.

The deployment ones (tag ``deploy``) run with ``manage.py check --deploy``, the production web
container's first command (docker-compose.yml): an error there stops it before it serves.
"""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

LOCAL_NAMES = {"localhost", "localhost.localdomain", ""}


def _is_local(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


@checks.register(checks.Tags.security, deploy=True)
def public_base_url_reaches_customers(app_configs=None, **kwargs):
    """Tracking and survey links in SMS and email start with PUBLIC_BASE_URL: in production a
    local address there makes every link a customer receives a dead one."""
    if settings.DEBUG:
        return []
    url = settings.PUBLIC_BASE_URL
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or _is_local(parts.hostname or ""):
        return [checks.Error(
            f"PUBLIC_BASE_URL is {url!r}: the links in customers' messages would lead nowhere.",
            hint="Set PUBLIC_BASE_URL to the address customers open, e.g. https://service.example.com "
                 "(or DEBUG=1 on a development machine).",
            id="core.E001",
        )]
    return []
