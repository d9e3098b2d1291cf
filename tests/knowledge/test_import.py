"""Importing knowledge articles from a file: matched on the article code, written through the
services (rendered, versioned, searchable), with tags, service types and categories."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge.models import Article, Category
from knowledge.resources import ArticleResource
from knowledge.selectors import article_search
from tests.factories import ServiceTypeFactory

pytestmark = pytest.mark.django_db

ARTICLES = "/admin/knowledge/article/"
CSV = (
    "code,title,summary,body,category,audience,tags,service_types,published\n"
    "fee-schedule,上门收费标准,市区上门费与常见维修价格,"
    "\"**市区**上门检测费 50 元，维修另计。\",收费,公开,收费;上门费,ac-repair,是\n"
    "ac-leak,空调漏水的处理步骤,内部作业指导,\"1. 检查排水管\n2. 清洗接水盘\",作业指导,工程师,漏水;排水,"
    "\"ac-repair,ac-clean\",yes\n"
)


def upload(client, content):
    return client.post(ARTICLES + "import/", {"import_file": SimpleUploadedFile("kb.csv", content.encode()),
                                              "format": "0"})


def confirm(client, preview):
    form = preview.context["confirm_form"]
    data = {name: form.initial[name] for name in ("import_file_name", "original_file_name", "format")}
    return client.post(ARTICLES + "process_import/", {**data, "resource": ""})


@pytest.fixture
def types():
    return ServiceTypeFactory(code="ac-repair"), ServiceTypeFactory(code="ac-clean")


def test_a_manager_imports_articles_that_are_rendered_versioned_and_found(client, manager, types):
    client.force_login(manager)
    preview = upload(client, CSV)
    assert "2 to create" in preview.content.decode()
    assert not Article.objects.exists()
    confirm(client, preview)

    fee = Article.objects.get(code="fee-schedule")
    assert "<strong>市区</strong>" in fee.body_html and fee.published and fee.audience == "public"
    assert fee.category.name == "收费" and sorted(t.name for t in fee.tags.all()) == ["上门费", "收费"]
    assert fee.version == 1 and fee.versions.get().changed_by == manager
    how_to = Article.objects.get(code="ac-leak")
    assert how_to.audience == "technician" and {s.code for s in how_to.service_types.all()} == {"ac-repair", "ac-clean"}
    assert [a.code for a in article_search(user=AnonymousUser(), q="上门费多少钱", limit=5)] == ["fee-schedule"]


def test_the_same_file_again_changes_nothing_and_an_edit_makes_one_new_version(client, manager, types):
    client.force_login(manager)
    confirm(client, upload(client, CSV))
    preview = upload(client, CSV)
    assert "0 to create, 0 to update, 2 unchanged" in preview.content.decode()
    confirm(client, upload(client, CSV.replace("50 元", "60 元")))
    fee = Article.objects.get(code="fee-schedule")
    assert "60 元" in fee.body_html and fee.version == 2
    assert Article.objects.get(code="ac-leak").version == 1
    assert Category.objects.filter(name_zh_hans="收费").count() == 1


def test_bad_rows_are_refused_by_line_and_column_and_nothing_is_written(client, manager, types):
    client.force_login(manager)
    content = ("code,title,body,audience,service_types\n"
               "ok,Fine,Body,public,ac-repair\n"
               "bad code,Spaces in the code,Body,public,\n"
               "no-body,No body,,public,\n"
               "who,Unknown audience,Body,everyone,\n"
               "type,Unknown type,Body,public,boiler-repair\n")
    preview = upload(client, content)
    bad = {(row.number + 1, column) for row in preview.context["result"].invalid_rows
           for column in row.field_specific_errors}
    assert bad == {(3, "code"), (4, "body"), (5, "audience"), (6, "service_types")}
    assert not Article.objects.exists() and not Category.objects.exists()


def test_an_agent_cannot_import_articles(client, agent):
    client.force_login(agent)
    assert client.get(ARTICLES + "import/").status_code == 403


def test_the_export_reads_back_as_the_same_articles(manager, types):
    from core.imports import SniffedCSV

    ArticleResource().import_data(SniffedCSV().create_dataset(CSV.encode()), raise_errors=True)
    exported = ArticleResource().export()
    rows = {r[0]: dict(zip(exported.headers, r)) for r in exported}
    assert rows["ac-leak"]["service_types"] == "ac-clean;ac-repair" and rows["ac-leak"]["tags"] == "排水;漏水"
    again = ArticleResource().import_data(SniffedCSV().create_dataset(exported.csv.encode()), dry_run=True)
    assert again.totals["skip"] == 2 and not again.has_validation_errors()


def test_the_sample_articles_import_after_the_sample_service_types():
    from pathlib import Path

    from django.conf import settings

    from catalog.resources import ServiceTypeResource, SkillResource
    from core.imports import SniffedCSV

    base = Path(settings.BASE_DIR) / "docs" / "samples"
    for resource, name in ((SkillResource, "skills.csv"), (ServiceTypeResource, "service-types.csv"),
                           (ArticleResource, "articles.csv")):
        result = resource().import_data(SniffedCSV().create_dataset((base / name).read_bytes()))
        assert not result.has_errors() and not result.has_validation_errors(), name
    assert Article.objects.filter(published=True).count() == 6
    assert [a.code for a in article_search(user=AnonymousUser(), q="call-out fee", limit=1)] == ["fee-schedule-en"]
