"""Every change of an API client: creating it (with its service user and first key), changing it,
rotating and revoking its keys. The admin calls these; the plain secret of a key is returned once
and never stored (only its hash is)."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import roles as R
from core.errors import InvalidInput

from .models import SCOPE_CHOICES, ApiClient, ApiKey

KNOWN_SCOPES = frozenset(value for value, _label in SCOPE_CHOICES)


def _username(name: str) -> str:
    # Users' usernames are unique like the clients' names; "api:" keeps them apart from people's.
    return f"api:{name}"[:150]


def _clean(*, name: str, scopes, partner_company, customer, requests_per_minute: int) -> dict:
    fields = {}
    name = (name or "").strip()
    if not name:
        fields["name"] = [_("A client needs a name.")]
    unknown = sorted(set(scopes or []) - KNOWN_SCOPES)
    if unknown:
        fields["scopes"] = [_("Unknown scopes: %(scopes)s.") % {"scopes": ", ".join(unknown)}]
    if partner_company is not None and customer is not None:
        fields["customer"] = [_("Restrict a client to a partner company or to a customer, not both.")]
    if not isinstance(requests_per_minute, int) or requests_per_minute < 1:
        fields["requests_per_minute"] = [_("At least one request per minute.")]
    if fields:
        raise InvalidInput(_("Some fields are not valid."), fields=fields)
    return {"name": name, "scopes": sorted(set(scopes or [])), "partner_company": partner_company,
            "customer": customer, "requests_per_minute": requests_per_minute}


def _new_key(client: ApiClient) -> str:
    _key, secret = ApiKey.objects.create_key(name=client.name[:50], client=client)
    return secret


@transaction.atomic
def apiclient_create(*, name: str, scopes, partner_company=None, customer=None,
                     requests_per_minute: int = 600) -> tuple[ApiClient, str]:
    """A new client, its service user (role integration, no usable password) and its first key:
    ``(client, key)``. The key is shown to whoever created the client, once."""
    data = _clean(name=name, scopes=scopes, partner_company=partner_company, customer=customer,
                  requests_per_minute=requests_per_minute)
    user_model = get_user_model()
    if ApiClient.objects.filter(name=data["name"]).exists() or user_model.objects.filter(
            username=_username(data["name"])).exists():
        raise InvalidInput(_("Some fields are not valid."), fields={"name": [_("A client with this name exists.")]})
    user = user_model(username=_username(data["name"]), first_name=data["name"][:150])
    user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get_or_create(name=R.INTEGRATION)[0])
    client = ApiClient.objects.create(user=user, **data)
    return client, _new_key(client)


@transaction.atomic
def apiclient_update(*, client_id: int, name: str, scopes, partner_company=None, customer=None,
                     requests_per_minute: int = 600, active: bool = True) -> ApiClient:
    """Change a client; its service user is renamed with it (the events name the client)."""
    data = _clean(name=name, scopes=scopes, partner_company=partner_company, customer=customer,
                  requests_per_minute=requests_per_minute)
    client = ApiClient.objects.select_for_update().get(pk=client_id)
    if ApiClient.objects.filter(name=data["name"]).exclude(pk=client.pk).exists():
        raise InvalidInput(_("Some fields are not valid."), fields={"name": [_("A client with this name exists.")]})
    for field, value in data.items():
        setattr(client, field, value)
    client.active = active
    client.save()
    user = client.user
    if user.first_name != data["name"][:150] or user.username != _username(data["name"]):
        user.first_name, user.username = data["name"][:150], _username(data["name"])
        user.save(update_fields=["first_name", "username"])
    return client


@transaction.atomic
def apiclient_rotate(*, client_id: int, grace: timedelta | None = None) -> str:
    """A new key for the client, returned once. The keys it had stay valid for ``grace``
    (``settings.API_KEY_ROTATION_GRACE_HOURS`` when None), or are revoked at once with a grace of 0,
    so that the integration can switch to the new key without a gap."""
    client = ApiClient.objects.select_for_update().get(pk=client_id)
    if grace is None:
        grace = timedelta(hours=settings.API_KEY_ROTATION_GRACE_HOURS)
    now = timezone.now()
    old = list(client.keys.filter(revoked=False))
    for key in old:
        if grace <= timedelta(0):
            key.revoked = True
        elif key.expiry_date is None or key.expiry_date > now + grace:
            key.expiry_date = now + grace
        key.save()  # one by one: each save drops the key's cached copy in every process
    return _new_key(client)


@transaction.atomic
def apiclient_revoke(*, client_id: int) -> int:
    """Revoke every key of the client at once (they answer 401 from now on); the number revoked.
    A revoked key stays revoked; a new one comes from a rotation."""
    client = ApiClient.objects.select_for_update().get(pk=client_id)
    keys = list(client.keys.filter(revoked=False))
    for key in keys:
        key.revoked = True
        key.save()
    return len(keys)
