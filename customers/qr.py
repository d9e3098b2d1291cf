"""The code on a piece of equipment's QR label: its id, signed with the site's secret key.

Scanning the label opens the public request form for that equipment (``intake:request-equipment``)
with the customer, site and equipment filled in; the signature means nobody can make the link
of another customer's equipment by changing a number. Labels stay on machines for years, so the
code does not expire; rotating ``SECRET_KEY`` (or the salt) voids every printed label.
"""

from django.core import signing

SALT = "customers.equipment-label"


def equipment_token(equipment_id: int) -> str:
    return signing.dumps(equipment_id, salt=SALT, compress=False)


def equipment_id_from_token(token: str) -> int | None:
    """The equipment id a label's code carries, or None when it was altered or is not one."""
    if not token or len(token) > 100:
        return None
    try:
        value = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) and value > 0 else None
