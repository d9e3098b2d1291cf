"""Which address a request came from, for the login lockout (django-axes) and the rate limits.

By default the peer of the connection (``REMOTE_ADDR``): an ``X-Forwarded-For`` header is
anyone's to write, so trusting it would let an attacker choose a fresh address for every
guess. Behind proxies that each append the address they received a connection from
(nginx's ``$proxy_add_x_forwarded_for``, most load balancers), set
``TRUSTED_PROXY_COUNT`` to how many there are: the client is then the address the
outermost proxy saw, that many entries from the right of the header. Whatever a client
put in the header itself stays to the left and is never read. A request with fewer
entries than that (it did not come through every proxy) is taken by its ``REMOTE_ADDR``.
"""

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(hops) < count:
        return remote
    candidate = hops[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
