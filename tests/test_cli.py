"""The `qa` command as a user runs it: errors are one line, settings are flags and QA_*
variables. The fake embedder and a scripted LLM stand in for the real models in-process."""
import io
import json
import subprocess
import sys

import pytest

from conftest import fake_embedder, scripted_llm
from qa import config
from qa.cli import main

FERRY = """Ferry strike halts service to Dunmore Island

By Mara Quill, The Riverside Courier

Published March 3, 2025

Ferry crews on Dunmore Island walked off the job on Monday. The union said 240 workers joined \
the strike over unpaid overtime.
"""
UNION = "The union said 240 workers joined the strike over unpaid overtime."
QUESTION = "How many workers joined the Dunmore Island ferry strike?"


def run(*args):
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], capture_output=True, text=True)


@pytest.fixture
def fakes(monkeypatch):
    """The fake embedder and a scripted LLM answering UNION, wherever the CLI loads models."""
    import index.embed
    import index.encode
    import qa.llm

    llm = scripted_llm(UNION)
    monkeypatch.setattr(index.embed, "load_embedder", fake_embedder)
    monkeypatch.setattr(index.encode, "minilm_embedding", fake_embedder)
    monkeypatch.setattr(qa.llm, "load_llm", lambda *args, **kwargs: llm)
    return llm


@pytest.fixture
def indexed(tmp_path, fakes, capsys):
    """A data dir with two invented articles indexed through `qa index`; its path."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "ferry.txt").write_text(FERRY)
    (folder / "prize.txt").write_text("Bakery wins prize\n\nA bakery in Port Alder won a prize.\n")
    (folder / "notes.docx").write_bytes(b"PK\x03\x04")
    data = str(tmp_path / "data")
    assert main(["index", "--data-dir", data, str(folder)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("2 articles: 2 passages added, 0 unchanged, 0 removed in ")
    assert "skipped " in err and "notes.docx: not a .txt, .md, .html or .pdf file" in err
    return data


def test_unknown_flag_is_an_argparse_error():
    r = run("ask", "--frobnicate", "x")
    assert r.returncode == 2 and "unrecognized arguments: --frobnicate" in r.stderr


def test_the_api_key_is_no_flag(capsys):
    with pytest.raises(SystemExit) as e:
        main(["ask", "--api-key", "sk-secret", "Who?"])
    assert e.value.code == 2 and "unrecognized arguments: --api-key" in capsys.readouterr().err


def test_ask_without_index_says_run_qa_index(tmp_path):
    r = run("ask", "--data-dir", str(tmp_path / "none"), "Who?")
    assert r.returncode == 1
    assert r.stderr.startswith("error: No articles are indexed") and "qa index" in r.stderr
    assert "Traceback" not in r.stderr


def test_an_empty_question_is_an_error():
    r = run("ask", "")
    assert r.returncode == 1
    assert r.stderr.strip() == "error: The question is empty. Type a question about the articles."


def test_bad_setting_is_one_line_error(tmp_path, capsys, monkeypatch):
    assert main(["ask", "--top-k", "0", "--data-dir", str(tmp_path), "Who?"]) == 1
    assert capsys.readouterr().err == "error: top_k must be at least 1, not 0.\n"
    monkeypatch.setenv("QA_MIN_SIMILARITY", "lots")
    assert main(["articles", "--data-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == "error: QA_MIN_SIMILARITY must be a float, not 'lots'.\n"


def test_openai_needs_endpoint(capsys):
    assert main(["ask", "--llm", "openai", "Who?"]) == 1
    assert "--api-base" in capsys.readouterr().err


def test_data_dir_that_cannot_be_written_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    assert main(["index", "--data-dir", str(tmp_path / "file" / "data"), str(tmp_path)]) == 1
    [error] = [line for line in capsys.readouterr().err.splitlines() if line != "indexing…"]
    assert error.startswith("error: Cannot write the index in ") and "--data-dir" in error


@pytest.mark.parametrize("command", ["index", "ask", "articles", "remove"])
def test_every_setting_with_a_flag_is_a_flag_of_every_command(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    shown = capsys.readouterr().out
    for f in config.settings():
        flag = f"--{f.name.replace('_', '-')} "
        assert (flag in shown) is f.metadata["flag"], flag


def test_index_articles_ask_and_remove(indexed, capsys):
    assert main(["articles", "--data-dir", indexed]) == 0
    assert capsys.readouterr().out == ("ferry.txt\tFerry strike halts service to Dunmore Island "
                                       "(The Riverside Courier, 2025-03-03)\t1 passages\n"
                                       "prize.txt\tBakery wins prize\t1 passages\n")

    assert main(["ask", "--data-dir", indexed, *QUESTION.split()]) == 0
    out = capsys.readouterr().out
    assert out.startswith(UNION + "\n\nChecked: " + UNION[:-1] + " [1].")
    assert ("[1] Ferry strike halts service to Dunmore Island (The Riverside Courier, "
            f"2025-03-03) — ferry.txt, characters 0–{len(FERRY.strip())}") in out
    assert f">>> {UNION} <<<" in " ".join(out.split())  # the passage, its quote marked

    assert main(["remove", "--data-dir", indexed, "ferry.txt"]) == 0
    assert capsys.readouterr().out == "removed 1 passages\n"
    assert main(["remove", "--data-dir", indexed, "ferry.txt"]) == 1


def test_json_output(indexed, capsys):
    assert main(["articles", "--json", "--data-dir", indexed]) == 0
    listed = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (listed["source"], listed["outlet"], listed["date"], listed["passages"]) == (
        "ferry.txt", "The Riverside Courier", "2025-03-03", 1)
    assert main(["ask", "--json", "--data-dir", indexed, QUESTION]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert (answer["question"], answer["answer"], answer["abstained"]) == (
        QUESTION, UNION[:-1] + " [1].", False)
    assert answer["citations"][0]["source"] == "ferry.txt"


def test_qa_variables_stand_in_for_flags(indexed, capsys, monkeypatch):
    monkeypatch.setenv("QA_DATA_DIR", indexed)
    assert main(["articles"]) == 0 and capsys.readouterr().out.startswith("ferry.txt\t")


def test_the_interactive_loop_survives_a_bad_question(indexed, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{'x' * 1001}\n{QUESTION}\n\n"))
    assert main(["ask", "--data-dir", indexed]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Ask about the 2 indexed articles")
    assert "error: The question is 1,001 characters; the limit is 1,000." in err
    assert f"Checked: {UNION[:-1]} [1]." in out


def test_removing_the_last_article_is_no_crash(indexed, capsys):
    assert main(["remove", "--data-dir", indexed, "ferry.txt", "prize.txt"]) == 0
    assert capsys.readouterr().out == "removed 2 passages\n"


def test_index_no_read_embeds_now_and_leaves_the_reading_for_later(tmp_path, fakes, capsys):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "ferry.txt").write_text(FERRY)
    data = str(tmp_path / "data")
    assert main(["index", "--no-read", "--data-dir", data, str(folder)]) == 0
    assert "1 articles: 1 passages added" in capsys.readouterr().out and fakes.read_blocks == []
    assert main(["index", "--data-dir", data, str(folder)]) == 0  # nothing new, all read now
    assert any("Dunmore Island" in block for block in fakes.read_blocks[-1])
