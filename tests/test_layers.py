"""The code's shape: layers that point one way, small modules, one declaration per setting."""
import re
import subprocess
import sys
from pathlib import Path

from qa import config

ROOT = Path(__file__).resolve().parent.parent


def test_layers_point_one_way():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_is_over_300_lines():
    long = {str(f.relative_to(ROOT)): n for pkg in ("index", "qa", "ui", "eval")
            for f in (ROOT / pkg).rglob("*.py") if (n := f.read_text().count("\n")) > 300}
    assert long == {}


def test_the_readme_settings_table_is_the_one_config_declares():
    assert config.settings_table() in (ROOT / "README.md").read_text()


def test_no_code_names_an_eval_question():
    named = [str(f.relative_to(ROOT)) for pkg in ("index", "qa", "ui", "eval")
             for f in (ROOT / pkg).rglob("*.py") if re.search(r"\b[qho]\d\d\b", f.read_text())]
    assert named == []


def test_the_readme_stays_short():
    assert len((ROOT / "README.md").read_bytes()) <= 15_000


def _imports() -> dict[str, set[str]]:
    """Each module of the product and the product modules it imports, anywhere in its body."""
    import ast

    modules = {".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): f
               for pkg in ("index", "qa", "ui", "eval") for f in (ROOT / pkg).rglob("*.py")}
    graph = {}
    for name, f in modules.items():
        found = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                          else node.module for a in node.names}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_no_module_imports_itself_through_others():
    graph = _imports()

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            m = todo.pop()
            if m == goal:
                return True
            if m not in seen:
                seen.add(m)
                todo += graph[m]
        return False

    # A package's __init__ re-exports its modules; a module importing its own package is fine.
    circles = sorted((a, b) for a in graph for b in graph[a]
                     if not a.startswith(b + ".") and not b.startswith(a + ".") and reaches(b, a))
    assert circles == []
