from django.urls import get_script_prefix, get_urlconf
from django.utils.translation import get_language

from . import roles as R


def roles(request):
    user = getattr(request, "user", None)
    names = R.roles_of(user) if user else frozenset()
    authenticated = bool(user and user.is_authenticated)
    superuser = authenticated and user.is_superuser
    return {
        "user_roles": names,
        "is_office": superuser or bool(names & R.OFFICE_ROLES),
        "is_field": bool(names & R.FIELD_ROLES),
        "is_manager": superuser or R.MANAGER in names,
        "is_dispatcher": superuser or R.DISPATCHER in names,
        # What a {% cache %} fragment of fixed markup varies on (base.html): who is asking as
        # far as the markup can tell (signed in, staff and superuser flags, the roles, from which
        # the flags above follow), the language and the URL configuration. Such a fragment may
        # read nothing else: the username, the CSRF token, the path and messages stay outside.
        "fragment_key": "{}{}{}:{}:{}:{}:{}".format(
            int(authenticated), int(authenticated and user.is_staff), int(superuser),
            ",".join(sorted(names)), get_language(), get_urlconf() or "", get_script_prefix(),
        ),
    }
