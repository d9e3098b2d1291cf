from . import roles


def roles(request):
    user = getattr(request, "user", None)
    names = roles.roles_of(user) if user else frozenset()
    superuser = bool(user and user.is_authenticated and user.is_superuser)
    return {
        "user_roles": names,
        "is_office": superuser or bool(names & roles.OFFICE_ROLES),
        "is_field": bool(names & roles.FIELD_ROLES),
        "is_manager": superuser or roles.MANAGER in names,
        "is_dispatcher": superuser or roles.DISPATCHER in names,
    }
