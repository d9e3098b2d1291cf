import csv
from pathlib import Path

import pytest

from catalog.models import ServiceTypeSkill
from tests.factories import ServiceTypeFactory, SkillFactory
from triage.selectors import forget_loaded_model

LABELLED = Path(__file__).resolve().parent.parent / "data" / "triage_labelled.csv"
OBVIOUS = "空调不制冷，外机有异响"
# The small fixture set: three service types of the labelled file.
FIXTURE_TYPES = ("aircon-repair", "washer-repair", "fridge-repair")


def labelled_rows(types=None) -> list[tuple]:
    with open(LABELLED, encoding="utf-8", newline="") as handle:
        rows = [(r["description"], r["service_type"], int(r["priority"])) for r in csv.DictReader(handle)]
    return [row for row in rows if types is None or row[1] in types]


def fixture_rows() -> list[tuple]:
    """Three service types, without the description the tests ask about (so it is predicted, not recalled)."""
    return [row for row in labelled_rows(FIXTURE_TYPES) if row[0] != OBVIOUS]


@pytest.fixture(autouse=True)
def _no_model_left_over():
    forget_loaded_model()
    yield
    forget_loaded_model()


@pytest.fixture
def fixture_types(db):
    types = {code: ServiceTypeFactory(code=code, name=name) for code, name in (
        ("aircon-repair", "Air conditioner repair"), ("washer-repair", "Washing machine repair"),
        ("fridge-repair", "Refrigerator repair"))}
    ServiceTypeSkill.objects.create(service_type=types["aircon-repair"],
                                    skill=SkillFactory(code="refrigeration", name="Refrigeration"), min_level=2)
    return types


@pytest.fixture
def trained(fixture_types, settings):
    from triage.services import triage_train

    settings.TRIAGE_MIN_SAMPLES = 20
    return triage_train(rows=fixture_rows())
