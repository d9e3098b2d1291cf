"""The phone-code sign-in for "my requests": send a code by SMS, check it.

Codes live in the cache (never in the database), as Django's salted HMAC of phone and code,
for ``SELF_SERVICE_CODE_SECONDS``. Each code allows ``SELF_SERVICE_CODE_ATTEMPTS`` wrong
guesses; then it is void and the phone is locked for ``SELF_SERVICE_LOCK_MINUTES`` (logged as
guessing). How often codes may be asked for (per phone, per address) is limited by the view
with django-ratelimit.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.crypto import constant_time_compare, get_random_string, salted_hmac
from django.utils.translation import gettext as _

from core.errors import Conflict, InvalidInput
from notifications.models import Notification
from notifications.services import notification_build, notifications_add

from .selectors import has_requests

logger = logging.getLogger(__name__)

CODE_LENGTH = 6
_SALT = "selfservice.phone-code"


def _code_key(phone: str) -> str:
    return f"selfservice:code:{phone}"


def _lock_key(phone: str) -> str:
    return f"selfservice:lock:{phone}"


def _digest(phone: str, code: str) -> str:
    return salted_hmac(_SALT, f"{phone}:{code}").hexdigest()


def phone_locked(phone: str) -> bool:
    return bool(cache.get(_lock_key(phone)))


def _locked_error() -> Conflict:
    return Conflict(
        _("Too many wrong codes for this number. Try again in %(minutes)d minutes.")
        % {"minutes": settings.SELF_SERVICE_LOCK_MINUTES},
        code="locked",
    )


def phone_code_send(*, phone: str, language: str = "") -> bool:
    """Send a new code to ``phone`` (an SMS through the outbox) when it has requests with us.

    Returns whether one was sent; the page says the same either way, so that nobody learns
    which numbers are customers. A new code replaces the previous one.
    """
    if phone_locked(phone):
        raise _locked_error()
    if not has_requests(phone=phone):
        return False
    code = get_random_string(CODE_LENGTH, allowed_chars="0123456789")
    expires = time.time() + settings.SELF_SERVICE_CODE_SECONDS
    cache.set(_code_key(phone), {"digest": _digest(phone, code), "expires": expires},
              settings.SELF_SERVICE_CODE_SECONDS)
    with transaction.atomic():
        notifications_add([notification_build(
            channel=Notification.Channel.SMS, recipient=phone, template="selfservice_code", language=language,
            payload={"code": code, "minutes": max(1, settings.SELF_SERVICE_CODE_SECONDS // 60)},
        )])
    return True


def _wrong_key(phone: str, digest: str) -> str:
    # One counter per code sent (a new code starts from nought), gone when the code expires.
    return f"selfservice:tries:{phone}:{digest[:16]}"


def _lock(phone: str, tries: int) -> Conflict:
    cache.delete(_code_key(phone))
    cache.set(_lock_key(phone), 1, settings.SELF_SERVICE_LOCK_MINUTES * 60)
    logger.warning("Phone code guessing: %d codes tried for a phone ending %s; locked.", tries, phone[-4:])
    return _locked_error()


def phone_code_check(*, phone: str, code: str) -> None:
    """Accept ``code`` for ``phone`` (and void it: a code works once), or raise.

    InvalidInput: wrong, expired or never sent; Conflict: the phone is locked after too many
    wrong codes (the code that was sent is void from then on).

    Every try is counted atomically in the cache (``add`` then ``incr``) before the code is
    compared, so guesses sent at the same moment each get their own number and at most
    ``SELF_SERVICE_CODE_ATTEMPTS`` of them are ever compared with a code.
    """
    if phone_locked(phone):
        raise _locked_error()
    code = "".join((code or "").split())
    stored = cache.get(_code_key(phone))
    wrong = _("That code is not right or has expired. Ask for a new one if needed.")
    left = int(stored["expires"] - time.time()) if stored is not None else 0
    if left <= 0:
        raise InvalidInput(wrong, fields={"code": [wrong]})
    key = _wrong_key(phone, stored["digest"])
    cache.add(key, 0, left + 1)
    try:
        tries = cache.incr(key)
    except ValueError:  # the counter vanished (the code just expired) or the cache is unreachable
        raise InvalidInput(wrong, fields={"code": [wrong]}) from None
    if tries > settings.SELF_SERVICE_CODE_ATTEMPTS:
        raise _lock(phone, tries)
    if code and constant_time_compare(stored["digest"], _digest(phone, code)):
        if not cache.delete(_code_key(phone)):
            # Another request took this code a moment ago: a code works once.
            raise InvalidInput(wrong, fields={"code": [wrong]})
        return
    if tries >= settings.SELF_SERVICE_CODE_ATTEMPTS:
        raise _lock(phone, tries)
    raise InvalidInput(wrong, fields={"code": [wrong]})
