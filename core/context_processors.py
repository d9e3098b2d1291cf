from . import roles as R


def roles(request):
    user = getattr(request, "user", None)
    names = R.roles_of(user) if user else frozenset()
    superuser = bool(user and user.is_authenticated and user.is_superuser)
    return {
        "user_roles": names,
        "is_office": superuser or bool(names & R.OFFICE_ROLES),
        "is_field": bool(names & R.FIELD_ROLES),
        "is_manager": superuser or R.MANAGER in names,
        "is_dispatcher": superuser or R.DISPATCHER in names,
    }
