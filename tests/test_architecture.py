"""The shape of the code: apps depend one way, no model change goes without its migration, and
no service function grows past what a reader takes in at once.

The allowed direction is the ``[tool.importlinter]`` contract in pyproject.toml
(docs/architecture.md, "Dependency direction"). Issue 13 removes today's exceptions one step
at a time; the lists of exceptions here and there may only shrink.
"""

import ast
import io
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent

# The imports the contract let pass when it was written (issue 13, S0). A step that fixes one
# deletes its line from pyproject.toml; none may be added there.
IGNORED_IMPORTS_AT_START = {
    "knowledge.services -> workorders.models",
    "knowledge.views -> workorders.models",
    "workorders.services -> dispatch.services",
    "workorders.services_assign -> dispatch.services",
    "technicians.selectors -> workorders.lifecycle",
    "technicians.selectors -> workorders.models",
    "technicians.selectors -> workorders.selectors",
    "technicians.views -> workorders.lifecycle",
    "technicians.views -> workorders.models",
    "technicians.views -> workorders.selectors_completion",
    "technicians.views -> workorders.services",
    "technicians.views -> workorders.services_completion",
    "technicians.forms -> workorders.services_completion",
    "technicians.views -> knowledge.models",
    "technicians.views -> knowledge.selectors",
}

# Foreign keys (and many-to-many fields) that point from an app to one above it or beside it,
# which import-linter cannot see (they name their model as a string). Issue 13 removed the last
# ones (S2a moved ServiceType to catalog, S3 made SuggestionOutcome keep an id); none may come back.
WRONG_WAY_RELATIONS: set[str] = set()


def _contract() -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return next(c for c in config["contracts"] if c["id"] == "layers")


def _layer_of() -> dict[str, int]:
    """Each app's height in the contract's layers (siblings share one; the lowest is 0)."""
    heights = {}
    for height, layer in enumerate(reversed(_contract()["layers"])):
        for app in layer.split("|"):
            heights[app.strip().strip("()")] = height
    return heights


def test_apps_import_only_the_layers_below_them():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    command = str(lint_imports) if lint_imports.exists() else shutil.which("lint-imports")
    assert command, "lint-imports is missing: install the test extra (pip install -e '.[test]')"

    result = subprocess.run([command, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, (
        "The import contract in pyproject.toml ([tool.importlinter]) is broken: an app imports one "
        "above it or beside it (move the code, or let the lower app offer a hook), or an ignored "
        "import no longer exists (delete its line). lint-imports says:\n"
        f"{result.stdout}\n{result.stderr}"
    )


def test_the_contracts_exceptions_only_shrink():
    added = set(_contract().get("ignore_imports", [])) - IGNORED_IMPORTS_AT_START
    assert not added, f"new exceptions to the import contract: {sorted(added)}; fix the import instead"


def test_foreign_keys_point_only_to_the_layers_below():
    layer_of = _layer_of()
    wrong_way = set()
    for model in apps.get_models():
        app = model._meta.app_config.name.split(".")[0]
        if app not in layer_of:
            continue  # Django's and other libraries' apps
        for field in [*model._meta.local_fields, *model._meta.local_many_to_many]:
            if not field.is_relation or field.related_model is None:
                continue
            target = field.related_model._meta.app_config.name.split(".")[0]
            if target != app and target in layer_of and layer_of[target] >= layer_of[app]:
                wrong_way.add(f"{model._meta.label}.{field.name}")

    new = wrong_way - WRONG_WAY_RELATIONS
    assert not new, (
        f"relations to an app above or beside the model's own: {sorted(new)}. Keep an id instead, "
        "or move the model (docs/architecture.md, \"Dependency direction\")"
    )
    gone = WRONG_WAY_RELATIONS - wrong_way
    assert not gone, f"these relations point the right way now: delete them from WRONG_WAY_RELATIONS: {sorted(gone)}"


@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit:
        pytest.fail(f"models and migrations differ; run manage.py makemigrations:\n{out.getvalue()}")
    assert "No changes detected" in out.getvalue()


# Service code a reader must take in step by step (issue 13, S14): the services modules and the
# escalation sweep, which lives beside the SLA clock in workorders/sla.py.
SERVICE_FILES = ["*/services.py", "*/services_*.py", "*/services/*.py", "workorders/sla.py"]
SERVICE_FUNCTION_MAX_LINES = 80


def test_no_service_function_is_over_80_lines():
    files = sorted({path for pattern in SERVICE_FILES for path in ROOT.glob(pattern)})
    assert ROOT / "workorders" / "services" / "transition.py" in files
    long = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > SERVICE_FUNCTION_MAX_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, "split these into named steps (check, lock, write, after commit): " + ", ".join(long)
