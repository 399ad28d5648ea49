import subprocess
import sys


from qa.cli import main


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], capture_output=True,
                          text=True, cwd=cwd)


def test_unknown_flag_is_an_argparse_error():
    r = run("ask", "--frobnicate", "x")
    assert r.returncode == 2 and "unrecognized arguments: --frobnicate" in r.stderr


def test_ask_without_index_says_run_qa_index(tmp_path):
    r = run("ask", "--data-dir", str(tmp_path / "none"), "Who?")
    assert r.returncode == 1
    assert r.stderr.startswith("error: No articles are indexed") and "qa index" in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_setting_is_one_line_error(tmp_path, capsys):
    assert main(["ask", "--top-k", "0", "--data-dir", str(tmp_path), "Who?"]) == 1
    assert capsys.readouterr().err.strip() == "error: top_k must be at least 1, not 0."


def test_openai_needs_endpoint(tmp_path, capsys):
    assert main(["ask", "--llm", "openai", "Who?"]) == 1
    assert "--api-base" in capsys.readouterr().err
