"""The lifecycle table names each transition's checks, effects and after hooks; every name
resolves to a registered function (workorders/hooks.py), and a missing one is loud.

A name nothing registered would otherwise mean a transition that silently skips, say, its SLA
clock or its stock release. It is reported by ``manage.py check`` (workorders.E003) and the
transition refuses to run, before anything is locked or written.
"""

import dataclasses

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import translation

from core import roles as R
from tests.factories import TechnicianFactory, WorkOrderFactory
from workorders import hooks
from workorders.checks import lifecycle_hooks_registered
from workorders.lifecycle import TRANSITIONS, Status
from workorders.models import WorkOrderEvent
from workorders.services import workorder_transition


def test_every_name_in_the_table_resolves_to_a_registered_hook():
    assert hooks.missing(TRANSITIONS.values()) == []
    for transition in TRANSITIONS.values():
        checks, effects, after = hooks.resolve(transition)
        assert len(checks) == len(transition.checks), transition.action
        assert len(effects) == len(transition.effects), transition.action
        assert len(after) == len(transition.after), transition.action
        assert all(callable(fn) for fn in (*checks, *effects, *after)), transition.action
    assert lifecycle_hooks_registered() == []


def test_the_set_based_assignment_runs_every_effect_the_assign_row_names():
    many = hooks.resolve_many(TRANSITIONS["assign"])
    assert len(many) == len(TRANSITIONS["assign"].effects) and all(callable(fn) for fn in many)


def test_an_effect_without_a_set_based_form_fails_the_set_based_path_loudly(monkeypatch):
    monkeypatch.setitem(TRANSITIONS, "assign", dataclasses.replace(
        TRANSITIONS["assign"], effects=(*TRANSITIONS["assign"].effects, "stamp.accepted_at")))
    with pytest.raises(ImproperlyConfigured, match="'stamp.accepted_at' has no set-based form"):
        hooks.resolve_many(TRANSITIONS["assign"])


def test_every_transition_moves_the_sla_clock_last_and_takes_the_technicians_position_first():
    for transition in TRANSITIONS.values():
        assert transition.effects[-1] == "sla.clock", transition.action
        assert transition.after[0] == "technician.position", transition.action


def test_a_name_nothing_registered_fails_the_system_check(monkeypatch):
    monkeypatch.setitem(TRANSITIONS, "accept", dataclasses.replace(
        TRANSITIONS["accept"], effects=("stamp.accepted_at", "stamp.no_such_thing", "sla.clock")))

    errors = lifecycle_hooks_registered()

    assert [e.id for e in errors] == ["workorders.E003"]
    assert "'accept'" in errors[0].msg and "'stamp.no_such_thing'" in errors[0].msg
    with pytest.raises(SystemCheckError, match="stamp.no_such_thing"):
        call_command("check")
    with pytest.raises(ImproperlyConfigured, match="stamp.no_such_thing"):
        hooks.resolve(TRANSITIONS["accept"])


@pytest.mark.django_db
def test_a_transition_whose_hook_is_missing_refuses_to_run_and_changes_nothing(monkeypatch):
    monkeypatch.delitem(hooks._REGISTRY[hooks.EFFECTS], "sla.clock")
    wo = WorkOrderFactory(technician=TechnicianFactory(), status=Status.ASSIGNED)

    with pytest.raises(ImproperlyConfigured, match="'accept' transition names the effect hook 'sla.clock'"):
        workorder_transition(work_order_id=wo.pk, action="accept", actor_role=R.SYSTEM)

    wo.refresh_from_db()
    assert wo.status == Status.ASSIGNED and wo.accepted_at is None
    assert not WorkOrderEvent.objects.filter(work_order=wo, action="accept").exists()


@pytest.mark.django_db
def test_a_registered_hook_runs_in_the_transitions_transaction(monkeypatch, dispatcher):
    """An app above this one plugs a hook in by name; if it fails, the whole transition is undone."""
    wo = WorkOrderFactory(technician=TechnicianFactory(), status=Status.ASSIGNED)
    seen = []

    def refuse_after_saving(ctx):
        seen.append((ctx.from_status, ctx.work_order.status, ctx.work_order.accepted_at is not None))
        raise RuntimeError("the plugged-in hook failed")

    monkeypatch.setitem(hooks._REGISTRY[hooks.AFTER], "test.refuse", refuse_after_saving)
    monkeypatch.setitem(TRANSITIONS, "unassign", dataclasses.replace(
        TRANSITIONS["unassign"], after=(*TRANSITIONS["unassign"].after, "test.refuse")))

    with pytest.raises(RuntimeError):
        workorder_transition(work_order_id=wo.pk, action="unassign", actor=dispatcher)

    assert seen == [(Status.ASSIGNED, Status.NEW, False)]
    wo.refresh_from_db()
    assert wo.status == Status.ASSIGNED and wo.technician_id is not None
    assert not WorkOrderEvent.objects.filter(work_order=wo, action="unassign").exists()


def test_only_the_three_kinds_of_hook_can_be_registered():
    with pytest.raises(ImproperlyConfigured):
        hooks.register("before", "anything", lambda ctx: None)


def test_every_transition_tells_the_customer_what_happened_in_both_languages():
    """The tracking page's history: one sentence per transition, from its row (customer_text)."""
    for transition in TRANSITIONS.values():
        texts = [lambda t=transition: str(t.customer_text)]
        if transition.customer_text_named:
            texts.append(lambda t=transition: t.customer_text_named % {"name": "Wei"})
        for text in texts:
            with translation.override("en"):
                english = text()
            with translation.override("zh-hans"):
                chinese = text()
            assert english and chinese != english, transition.action
