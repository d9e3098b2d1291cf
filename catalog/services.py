"""Writes of the catalog through the API (catalog/api.py): parts and service types, created and
changed from a version by the roles that change them in the admin (managers) and unrestricted API
clients.

As customers' rows (customers/services.py): each change is made from the version the caller read
and checked under the row's lock (core/versions.py); a part number, service type code or external
reference another row has is a conflict (409) naming the field; nothing is written on any error. A
service type's change is told to the per-process copies of the service types (catalog/apps.py).
"""

from copy import copy

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from core.errors import InvalidInput
from core.permissions import require
from core.versions import apply_changes, clean_refs, locked_row, version_check, write_unique

from .flows import flow_problems
from .models import Part, ServiceType, ServiceTypeSkill, Skill

_UNIQUE = {
    Part: {"part_number": _lazy("Another part has this part number."),
           "external_ref": _lazy("Another part has this external reference.")},
    ServiceType: {"code": _lazy("Another service type has this code."),
                  "external_ref": _lazy("Another service type has this external reference.")},
}
# Each translated text is kept per language (catalog/translation.py); one of the two is enough.
_NAMES = {Part: ("name_zh_hans", "name_en"), ServiceType: ("name_zh_hans", "name_en")}


def _may_write(actor, model) -> None:
    require(actor, f"catalog.change_{model._meta.model_name}")


def _named(model, values: dict) -> None:
    """400 unless the row has a name in at least one language."""
    if not any((values.get(name) or "").strip() for name in _NAMES[model]):
        message = _("Give the name in Chinese or in English (or both).")
        raise InvalidInput(message, fields={name: [message] for name in _NAMES[model]})


def skill_levels(items, *, field: str, level: str) -> dict[int, int]:
    """{skill id: level} of a list of ``{"skill": id or code, level: 1-5}``; 400 naming ``field`` for
    a skill that does not exist or is named twice."""
    wanted = [(item["skill"], item.get(level, 1)) for item in items]
    ids = {ref for ref, _level in wanted if isinstance(ref, int)}
    codes = {ref for ref, _level in wanted if isinstance(ref, str)}
    found = {}
    for pk, code in Skill.objects.filter(Q(pk__in=ids) | Q(code__in=codes)).values_list("pk", "code"):
        found[pk] = found[code] = pk
    levels: dict[int, int] = {}
    for ref, value in wanted:
        pk = found.get(ref)
        if pk is None:
            message = _("There is no skill %(skill)s.") % {"skill": ref}
            raise InvalidInput(message, fields={field: [message]})
        if pk in levels:
            message = _("A skill is named twice.")
            raise InvalidInput(message, fields={field: [message]})
        levels[pk] = value
    return levels


# --- Parts ------------------------------------------------------------------------------------


def part_create(*, actor, values: dict) -> Part:
    """A new part (managers, unrestricted API clients)."""
    _may_write(actor, Part)
    values = clean_refs(dict(values))
    _named(Part, values)
    part = Part(**values)
    with transaction.atomic():
        write_unique(Part, _UNIQUE[Part], values, part.save)
    return part


def part_update(*, actor, part_id: int, changes: dict, if_match: list[str]) -> Part:
    """Change a part's number, names, unit, prices, flags or reference from the version ``if_match``
    names (else 412). Reports keep what they copied when the part was used."""
    _may_write(actor, Part)
    changes = clean_refs(dict(changes))
    with transaction.atomic():
        part = locked_row(Part.objects.all(), part_id, _("No such part."))
        _named(Part, {name: changes.get(name, getattr(part, name)) for name in _NAMES[Part]})
        # signal: the parts each service type needs are kept per process (catalog.selectors), and a part
        # deactivated or renumbered must drop those copies as an admin save does.
        part, _diff = apply_changes(Part, _UNIQUE[Part], part, changes, if_match, _(
            "Part %(id)s was changed since you read it; read it again and re-apply your change.") % {"id": part.pk},
            signal=True)
    return part


# --- Service types ------------------------------------------------------------------------------


def _set_required_skills(service_type: ServiceType, levels: dict[int, int]) -> bool:
    """The service type's required skills become exactly ``levels``; whether anything changed."""
    current = dict(service_type.required_skills.values_list("skill_id", "min_level"))
    if current == levels:
        return False
    service_type.required_skills.exclude(skill_id__in=list(levels)).delete()
    for skill_id, level in levels.items():
        if current.get(skill_id) != level:
            ServiceTypeSkill.objects.update_or_create(service_type=service_type, skill_id=skill_id,
                                                      defaults={"min_level": level})
    return True


# The fields of a service type's flow (catalog.flows).
FLOW_FIELDS = frozenset({"requires_review", "requires_follow_up", "requires_signature", "before_photos_min",
                         "after_photos_min", "requires_parts_approval", "transition_roles"})


def _flow_check(service_type: ServiceType) -> None:
    """A flow that would strand orders is refused (InvalidInput naming ``flow``), nothing changed."""
    problems = flow_problems(service_type)
    if problems:
        raise InvalidInput(" ".join(problems), fields={"flow": problems})


def service_type_create(*, actor, values: dict) -> ServiceType:
    """A new service type with the skills it needs (managers, unrestricted API clients)."""
    _may_write(actor, ServiceType)
    values = clean_refs(dict(values))
    _named(ServiceType, values)
    levels = skill_levels(values.pop("skills", []), field="skills", level="min_level")
    service_type = ServiceType(**values)
    _flow_check(service_type)
    with transaction.atomic():
        write_unique(ServiceType, _UNIQUE[ServiceType], values, service_type.save)
        _set_required_skills(service_type, levels)
    return service_type


def service_type_update(*, actor, service_type_id: int, changes: dict, if_match: list[str]) -> ServiceType:
    """Change a service type's code, names, descriptions, duration, call-out fee, review flag,
    active flag, required skills (exactly those given) or reference, from the version ``if_match``
    names (else 412). Orders keep their service type; a new fee applies to later reports."""
    _may_write(actor, ServiceType)
    changes = clean_refs(dict(changes))
    with transaction.atomic():
        service_type = locked_row(ServiceType.objects.all(), service_type_id, _("No such service type."))
        stale = _("Service type %(id)s was changed since you read it; read it again and re-apply your change.") % {
            "id": service_type.pk}
        version_check(service_type.updated_at, if_match, stale)
        _named(ServiceType, {name: changes.get(name, getattr(service_type, name)) for name in _NAMES[ServiceType]})
        levels = skill_levels(changes.pop("skills"), field="skills", level="min_level") if "skills" in changes \
            else None
        if FLOW_FIELDS & set(changes):
            probe = copy(service_type)
            for name in FLOW_FIELDS & set(changes):
                setattr(probe, name, changes[name])
            _flow_check(probe)
        skills_changed = levels is not None and _set_required_skills(service_type, levels)
        service_type, _diff = apply_changes(ServiceType, _UNIQUE[ServiceType], service_type, changes, if_match,
                                            stale, force=skills_changed, signal=True)
    return service_type
