"""Importing skills and service types (with the skills and levels each needs), matched on codes."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import ServiceType, Skill
from catalog.resources import ServiceTypeResource, SkillResource
from core.imports import SniffedCSV

pytestmark = pytest.mark.django_db

TYPES = "/admin/catalog/servicetype/"


def upload(client, url, content):
    return client.post(url + "import/", {"import_file": SimpleUploadedFile("file.csv", content.encode()), "format": "0"})


def confirm(client, url, preview):
    form = preview.context["confirm_form"]
    data = {name: form.initial[name] for name in ("import_file_name", "original_file_name", "format")}
    return client.post(url + "process_import/", {**data, "resource": ""})


def required(service_type) -> dict:
    return {r.skill.code: r.min_level for r in service_type.required_skills.select_related("skill")}


@pytest.fixture
def skills():
    for code in ("aircon", "electrical", "installation"):
        Skill.objects.create(code=code, name=code.title())


def test_a_manager_imports_service_types_and_a_second_file_changes_only_what_differs(client, manager, skills):
    client.force_login(manager)
    content = ("code,name,default_duration_minutes,callout_fee,requires_review,skills\n"
               "ac-repair,空调维修,90,80,no,aircon:2\n"
               "ac-install,空调安装,180,\"1,150.00\",是,aircon:2；installation:2；electrical:1\n")
    confirm(client, TYPES, upload(client, TYPES, content))
    install = ServiceType.objects.get(code="ac-install")
    assert (install.name, install.default_duration_minutes, install.callout_fee, install.requires_review) == (
        "空调安装", 180, 1150, True)
    assert required(install) == {"aircon": 2, "installation": 2, "electrical": 1}

    edited = content.replace("aircon:2；installation:2；electrical:1", "aircon:3;installation:2")
    preview = upload(client, TYPES, edited)
    assert "0 to create, 1 to update, 1 unchanged" in preview.content.decode()
    confirm(client, TYPES, preview)
    assert required(ServiceType.objects.get(code="ac-install")) == {"aircon": 3, "installation": 2}
    assert required(ServiceType.objects.get(code="ac-repair")) == {"aircon": 2}


def test_a_file_without_the_skills_column_keeps_the_skills(client, manager, skills):
    client.force_login(manager)
    confirm(client, TYPES, upload(client, TYPES, "code,name,skills\nac-repair,空调维修,aircon:2\n"))
    confirm(client, TYPES, upload(client, TYPES, "code,name\nac-repair,空调维修（保内）\n"))
    repair = ServiceType.objects.get(code="ac-repair")
    assert repair.name == "空调维修（保内）" and required(repair) == {"aircon": 2}


def test_bad_rows_are_named_by_line_and_column_and_nothing_is_written(client, manager, skills):
    client.force_login(manager)
    content = ("code,name,default_duration_minutes,callout_fee,skills\n"
               "ok,Fine,60,10,aircon:1\n"
               "bad code,Spaces,60,10,\n"
               "long,Too long,2000,10,\n"
               "fee,Negative fee,60,-5,\n"
               "skill,Unknown skill,60,10,welding:2\n"
               "level,Level six,60,10,aircon:6\n")
    preview = upload(client, TYPES, content)
    bad = {(row.number + 1, column) for row in preview.context["result"].invalid_rows
           for column in row.field_specific_errors}
    assert bad == {(3, "code"), (4, "default_duration_minutes"), (5, "callout_fee"), (6, "skills"), (7, "skills")}
    assert not ServiceType.objects.filter(code="ok").exists()


def test_an_agent_cannot_import_service_types_or_skills(client, agent):
    client.force_login(agent)
    assert client.get(TYPES + "import/").status_code == 403
    assert client.get("/admin/catalog/skill/import/").status_code == 403


def test_the_export_gives_back_the_skills_column(manager, skills):
    ServiceTypeResource().import_data(
        SniffedCSV().create_dataset(b"code,name,skills\nac-repair,A,aircon:2;electrical:1\n"), raise_errors=True)
    exported = ServiceTypeResource().export()
    row = dict(zip(exported.headers, exported[0]))
    assert row["skills"] in ("aircon:2;electrical:1", "electrical:1;aircon:2")


def test_the_sample_skills_and_service_types_import_cleanly():
    base = Path(settings.BASE_DIR) / "docs" / "samples"
    skills = SkillResource().import_data(SniffedCSV().create_dataset((base / "skills.csv").read_bytes()))
    assert not skills.has_errors() and not skills.has_validation_errors()
    types = ServiceTypeResource().import_data(SniffedCSV().create_dataset((base / "service-types.csv").read_bytes()))
    assert not types.has_errors() and not types.has_validation_errors()
    assert types.totals["new"] == 8
    assert required(ServiceType.objects.get(code="chiller-service")) == {"refrigeration": 4, "electrical": 2}


def test_a_flow_imports_and_exports_with_its_service_type(client, manager, skills):
    client.force_login(manager)
    content = ("code,name,requires_follow_up,requires_signature,before_photos_min,after_photos_min,"
               "requires_parts_approval,transition_roles\n"
               "chiller-maintenance,冷水机组保养,no,否,0,2,yes,\n"
               "inspection,安全检查,yes,yes,1,0,no,assign:dispatcher\n")
    confirm(client, TYPES, upload(client, TYPES, content))
    maintenance, inspection = (ServiceType.objects.get(code=code) for code in ("chiller-maintenance", "inspection"))
    assert (maintenance.requires_follow_up, maintenance.requires_signature, maintenance.after_photos_min,
            maintenance.requires_parts_approval) == (False, False, 2, True)
    assert (inspection.before_photos_min, inspection.transition_roles) == (1, {"assign": ["dispatcher"]})

    rows = {row[0]: dict(zip(ServiceTypeResource().export().headers, row)) for row in ServiceTypeResource().export()}
    assert rows["inspection"]["transition_roles"] == "assign:dispatcher"
    assert rows["chiller-maintenance"]["requires_follow_up"] == "no"
    assert rows["chiller-maintenance"]["after_photos_min"] == "2"


def test_a_flow_that_would_strand_orders_is_refused_by_line_and_nothing_is_written(client, manager, skills):
    client.force_login(manager)
    content = ("code,name,before_photos_min,transition_roles\n"
               "fine,Fine,0,\n"
               "welder,Unknown role,0,assign:welder\n"
               "nobody-closes,Nobody closes,0,close:\n"
               "photos,Photos,two,\n"
               "badly-written,Badly written,0,assign\n")
    preview = upload(client, TYPES, content)
    bad = {(row.number + 1, column) for row in preview.context["result"].invalid_rows
           for column in row.field_specific_errors}
    assert bad == {(3, "transition_roles"), (4, "transition_roles"), (5, "before_photos_min"),
                   (6, "transition_roles")}
    assert not ServiceType.objects.filter(code="fine").exists()
