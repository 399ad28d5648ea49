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
