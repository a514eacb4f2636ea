"""The layers: model/ is the network alone (NumPy and the standard library, never the web side); app/
reads settings and its own state in one place each; tests do not import the benchmarks."""

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {"numpy", "model", "__future__"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_model_imports_only_numpy_and_the_standard_library() -> None:
    """Every module of model/, its subpackages (model/images, model/data) included."""
    files = sorted((ROOT / "model").rglob("*.py"))
    assert len(files) >= 8 and ROOT / "model" / "images" / "preprocess.py" in files
    for path in files:
        foreign = {n for n in _imports(path) if n not in ALLOWED and n not in sys.stdlib_module_names}
        assert not foreign, f"{path.relative_to(ROOT)} imports {sorted(foreign)}"


def test_the_checker_would_see_a_forbidden_import(tmp_path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy as np\nfrom app.cli.arguments import main\nimport PIL.Image\n")
    assert _imports(bad) - ALLOWED - set(sys.stdlib_module_names) == {"app", "PIL"}


def test_only_the_app_factory_and_the_dependencies_touch_app_state() -> None:
    """Routes and middlewares get what they need as typed dependencies (app/deps.py)."""
    allowed = {ROOT / "app" / "main.py", ROOT / "app" / "deps.py"}
    modules = "|".join(p.stem for p in (ROOT / "app" / "state").glob("*.py"))
    package = re.compile(rf"\bapp\.state\.({modules})\b")
    assert ".state." not in package.sub("", "from app.state.store import Store")
    assert ".state." in package.sub("", "request.app.state.services")
    for path in sorted((ROOT / "app").rglob("*.py")):
        if path not in allowed:
            code = package.sub("", path.read_text())  # the package app/state/ is not the attribute
            assert ".state." not in code, f"{path.relative_to(ROOT)} reads app.state"


def test_only_the_settings_read_digitnet_variables() -> None:
    """Settings are read once, in app/settings.py (and passed to the rest; setting one for the server's
    worker processes is fine)."""
    read = re.compile(r'environ\.get\("DIGITNET|environ\["DIGITNET_[A-Z_]+"\](?!\s*=)')
    assert read.search('os.environ["DIGITNET_HOME"]') and not read.search('os.environ["DIGITNET_X"] = "1"')
    for path in sorted((ROOT / "app").rglob("*.py")):
        if path.name != "settings.py":
            assert not read.search(path.read_text()), path.name


def test_routes_only_translate_http() -> None:
    """No NumPy in the routes (the arrays belong to the parts they call: app/feedback/ owns the
    drawings and their export file), and no status picked by matching an exception's message (the
    statuses go by class, in app/web/errors.py)."""
    files = sorted((ROOT / "app" / "web" / "routes").glob("*.py"))
    assert len(files) >= 8
    by_message = re.compile(r"\bin str\((exc|e|error)\)")
    assert by_message.search('404 if "no version" in str(exc) else 422')
    for path in files:
        name = path.relative_to(ROOT)
        assert "numpy" not in _imports(path), f"{name} imports NumPy"
        assert not by_message.search(path.read_text()), f"{name} picks a status by an exception's message"


def test_tests_do_not_import_the_benchmarks() -> None:
    """What a test needs of a benchmark's (drawings, payloads) lives in tests/ or in the product, and
    benchmarks import it from there; only tests/benchmarks/, the benchmarks' own smoke tests, run them."""
    own = ROOT / "tests" / "benchmarks"
    files = [p for p in sorted((ROOT / "tests").rglob("*.py")) if own not in p.parents]
    assert ROOT / "tests" / "app" / "test_answers_unchanged.py" in files
    for path in files:
        assert "benchmarks" not in _imports(path), f"{path.relative_to(ROOT)} imports benchmarks"
