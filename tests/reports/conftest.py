"""A small, hand-made week of work orders, driven through the real services at chosen times.

The SLA calendar is Monday to Friday, 09:00-18:00 (Asia/Shanghai), no holidays; the
policy for the service type asks for a first response within 60, arrival within 240
and resolution within 480 business minutes. Every figure the tests expect is worked
out by hand from the times below (see tests/reports/test_kpis.py).

    A  Mon 03-03 17:00, T1: accept 17:30, arrive Tue 10:00, complete Wed 12:00, survey 5/10 -> closed
    B  Fri 03-07 17:30, T1: accept Mon 09:15, arrive Mon 10:00, hold 11:00-14:00, complete 16:00,
       survey 2/3 (not solved) -> manager's call-back reopens it Wed 03-12 -> new
    C  Tue 03-04 10:00, T2 (partner): accept 10:20, arrive 11:00, complete 12:00 asking for a second
       visit (which creates D), survey 4/9 -> closed
    D  Tue 03-04 12:00, the second visit: nobody has it yet -> new
    E  Wed 03-05 09:00, cancelled at 10:00
    F  Wed 03-05 09:30, assigned to T1 for Fri 14:00-15:30 -> assigned

T1 (own staff) works Monday to Friday 09:00-18:00, is away all of Thursday 03-06 and on
Wednesday 03-05 from 13:00 to 15:00, and works Saturday 03-08 10:00-14:00 as well.
T2 (partner company) keeps no shifts.
"""

import uuid
from datetime import datetime, time
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine

from completion.services import completion_submit
from core import roles as R
from reports.facts import facts_rebuild
from technicians.models import Shift
from tests.factories import (
    BusinessCalendarFactory,
    PartnerTechnicianFactory,
    ServiceTypeFactory,
    TechnicianFactory,
    UserFactory,
)
from tests.technicians.helpers import signature_png
from sla.models import SlaPolicy
from workorders.models import Survey, WorkOrder
from workorders.services import workorder_create, workorder_transition
from workorders.survey import survey_answer, survey_record_callback

SHANGHAI = ZoneInfo("Asia/Shanghai")
# When the tests look at the dashboard: every deadline of the week has passed.
NOW = datetime(2025, 3, 20, 12, 0, tzinfo=SHANGHAI)


def at(month, day, hour, minute=0):
    return datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


def _t(h, m=0):
    return time(h, m)


@pytest.fixture
def settings_tz(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    return settings


class Story:
    """Drives orders through the services, each step at its own moment."""

    def __init__(self, service_type, manager):
        self.service_type = service_type
        self.manager = manager
        self._phone = 0

    def create(self, when, **kw):
        self._phone += 1
        with time_machine.travel(when, tick=False):
            wo, _created = workorder_create(
                channel=WorkOrder.Channel.PHONE, contact_name=f"Customer {self._phone}",
                contact_phone=f"+8613811{self._phone:06d}", address=f"{self._phone} Century Avenue, Shanghai",
                service_type=kw.pop("service_type", self.service_type), description="The heater does not start.",
                **kw,
            )
        return wo

    def step(self, wo, when, action, actor=None, **kw):
        with time_machine.travel(when, tick=False):
            return workorder_transition(work_order_id=wo.pk, action=action, actor=actor or self.manager, **kw)

    def assign(self, wo, when, tech, start, end):
        return self.step(wo, when, "assign", technician_id=tech.pk, appointment_start=start, appointment_end=end)

    def visit(self, wo, tech, *, accept, arrive, depart=None):
        self.step(wo, accept, "accept", tech.user)
        self.step(wo, depart or accept, "depart", tech.user)
        return self.step(wo, arrive, "arrive", tech.user)

    def survey(self, wo, when, satisfaction, recommend, solved=True):
        token = Survey.objects.get(work_order=wo, status=Survey.State.OPEN).token
        with time_machine.travel(when, tick=False):
            return survey_answer(token=token, satisfaction=satisfaction, solved=solved, recommend=recommend)


@pytest.fixture
def week(db, settings_tz):
    manager = UserFactory(username="boss", roles=[R.MANAGER], is_staff=True)
    service_type = ServiceTypeFactory(code="heater-repair", name="Heater repair")
    other_type = ServiceTypeFactory(code="installation", name="Installation")
    calendar = BusinessCalendarFactory(code="office")  # Mon-Fri 09:00-18:00, Asia/Shanghai
    SlaPolicy.objects.create(name="Heaters", service_type=service_type, calendar=calendar,
                             first_response_minutes=60, arrival_minutes=240, resolution_minutes=480)
    SlaPolicy.objects.create(name="Installations", service_type=other_type, calendar=calendar,
                             first_response_minutes=60, arrival_minutes=240, resolution_minutes=480)
    t1 = TechnicianFactory(user__username="t1", user__first_name="Li", user__last_name="Wei")
    t2 = PartnerTechnicianFactory(user__username="t2", user__first_name="Zhang", user__last_name="Min")
    for weekday in range(5):
        Shift.objects.create(technician=t1, weekday=weekday, start=_t(9), end=_t(18))
    Shift.objects.create(technician=t1, date=at(3, 6, 0).date(), available=False)  # away all Thursday
    Shift.objects.create(technician=t1, date=at(3, 5, 0).date(), start=_t(13), end=_t(15), available=False)
    Shift.objects.create(technician=t1, date=at(3, 8, 0).date(), start=_t(10), end=_t(14))  # extra Saturday

    s = Story(service_type, manager)

    a = s.create(at(3, 3, 17))
    s.assign(a, at(3, 3, 17, 10), t1, at(3, 4, 9, 30), at(3, 4, 11, 30))
    s.visit(a, t1, accept=at(3, 3, 17, 30), depart=at(3, 4, 9), arrive=at(3, 4, 10))
    s.step(a, at(3, 5, 12), "complete", t1.user, note="Replaced the igniter.")
    s.survey(a, at(3, 5, 15), satisfaction=5, recommend=10)

    b = s.create(at(3, 7, 17, 30))
    s.assign(b, at(3, 7, 17, 40), t1, at(3, 10, 10), at(3, 10, 11))
    s.visit(b, t1, accept=at(3, 10, 9, 15), depart=at(3, 10, 9, 30), arrive=at(3, 10, 10))
    s.step(b, at(3, 10, 11), "hold", t1.user, note="Waiting for a part.")
    s.step(b, at(3, 10, 14), "resume", t1.user)
    s.step(b, at(3, 10, 16), "complete", t1.user, note="Fitted the part.")
    low = s.survey(b, at(3, 11, 9), satisfaction=2, recommend=3, solved=False)
    with time_machine.travel(at(3, 12, 10), tick=False):
        survey_record_callback(survey_id=low.pk, actor=manager, note="Still leaking.", outcome="reopen")

    c = s.create(at(3, 4, 10))
    s.assign(c, at(3, 4, 10, 5), t2, at(3, 4, 10, 30), at(3, 4, 12))
    s.visit(c, t2, accept=at(3, 4, 10, 20), depart=at(3, 4, 10, 30), arrive=at(3, 4, 11))
    with time_machine.travel(at(3, 4, 12), tick=False):
        completion_submit(
            work_order_id=c.pk, actor=t2.user, submission_key=uuid.uuid4(), work_done="Tested; the valve is worn.",
            labour_minutes=60, signer_name="王芳", signature=signature_png(), needs_second_visit=True,
            second_visit_reason="A new valve has to be ordered.",
        )
    d = WorkOrder.objects.get(follow_up_of_report__work_order=c)
    s.survey(c, at(3, 4, 18), satisfaction=4, recommend=9)

    e = s.create(at(3, 5, 9))
    s.step(e, at(3, 5, 10), "cancel", note="The customer fixed it himself.")

    f = s.create(at(3, 5, 9, 30))
    s.assign(f, at(3, 5, 9, 40), t1, at(3, 7, 14), at(3, 7, 15, 30))

    # Outside the week, or another service type: never counted in the tests' range.
    s.create(at(3, 10, 9))  # next Monday
    g = s.create(at(3, 6, 9), service_type=other_type)  # Thursday, installation

    # The tests drive services inside one test transaction, so nothing commits and the
    # after-commit refresh never runs: build the figures the way the periodic task does.
    facts_rebuild()
    return SimpleNamespace(a=a, b=b, c=c, d=d, e=e, f=f, g=g, t1=t1, t2=t2, manager=manager,
                           service_type=service_type, other_type=other_type, calendar=calendar)


@pytest.fixture
def manager_client(client, week):
    client.force_login(week.manager)
    return client
