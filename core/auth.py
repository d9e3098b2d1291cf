"""Who is asking: the logged-in user and API tokens, read from memory.

Every staff page reads the user row behind the session, and every API call the
token row joined to its user: one query each, on every request. Both are kept
per process here (``core/refcache.py``), with their own short age limit:

- a user saved or deleted (deactivated in admin, password changed, removed) or a
  token saved or deleted (revoked, regenerated) drops the copies at once in this
  process and in every other worker within ``refcache.CHECK_SECONDS`` (1 s);
- a change that sends no model signal (a queryset ``update()``, raw SQL), or any
  change when the workers share no cache (no ``REDIS_URL``), is seen within
  ``AUTH_MAX_AGE_SECONDS`` (30 s): no copy is older than that.

So a deactivated user or a deleted token stops working within a second, and
within 30 s whatever way it was changed. Each request gets its own ``User``
instance (built from the kept row): nothing a request sets on it leaks into the
next. Unknown tokens are not remembered: a client guessing tokens costs a query
per guess, as before, and fills no memory.

``CachedModelBackend`` replaces Django's ``ModelBackend`` (same login and
permission rules); ``CachedTokenAuthentication`` replaces DRF's
``TokenAuthentication`` (same header, same errors).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from .refcache import VersionedCache, receiver_for

AUTH_MAX_AGE_SECONDS = 30.0

USERS = VersionedCache("auth_users", max_age=AUTH_MAX_AGE_SECONDS, max_entries=10_000)
TOKENS = VersionedCache("auth_tokens", max_age=AUTH_MAX_AGE_SECONDS, max_entries=10_000)


class _Unknown(Exception):
    """No such row: raised by a loader so that the miss is not kept."""


def _user_fields():
    return [f.attname for f in get_user_model()._meta.concrete_fields]


def user_by_pk(pk):
    """A fresh ``User`` instance for ``pk`` from the kept row, or None if there is no such user."""
    model = get_user_model()
    fields = _user_fields()

    def load():
        row = model._default_manager.filter(pk=pk).values_list(*fields).first()
        if row is None:
            raise _Unknown
        return row

    try:
        row = USERS.get(pk, load)
    except _Unknown:
        return None
    return model.from_db(model._default_manager.db, fields, row)


class CachedModelBackend(ModelBackend):
    """Django's ``ModelBackend`` whose ``get_user`` (every request with a session) reads
    the kept row instead of querying (see the module's docstring for how fresh it is)."""

    def get_user(self, user_id):
        user = user_by_pk(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


def token_row(key: str):
    """``(user_id, created)`` of the API token ``key``, or None if there is no such token."""
    if not isinstance(key, str) or not key or len(key) > Token._meta.get_field("key").max_length:
        return None

    def load():
        row = Token.objects.filter(key=key).values_list("user_id", "created").first()
        if row is None:
            raise _Unknown
        return row

    try:
        return TOKENS.get(key, load)
    except _Unknown:
        return None


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's ``TokenAuthentication`` (``Authorization: Token <key>``) reading the kept token
    and user rows: the same checks and the same error messages, without a query."""

    def authenticate_credentials(self, key):
        row = token_row(key)
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user_id, created = row
        user = user_by_pk(user_id)
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = Token(key=key, user_id=user_id, created=created)
        token._state.adding = False
        token._state.db = Token.objects.db
        token.user = user
        return user, token


def connect_auth_cache():
    """Drop the kept users and tokens when a user or a token is saved or deleted (core.apps)."""
    user_model = get_user_model()
    drop_users = receiver_for(USERS)
    drop_tokens = receiver_for(TOKENS)
    post_save.connect(drop_users, sender=user_model, weak=False, dispatch_uid="core.auth.user-save")
    post_delete.connect(drop_users, sender=user_model, weak=False, dispatch_uid="core.auth.user-delete")
    post_save.connect(drop_tokens, sender=Token, weak=False, dispatch_uid="core.auth.token-save")
    post_delete.connect(drop_tokens, sender=Token, weak=False, dispatch_uid="core.auth.token-delete")
