"""Bad input and faults end in a clear message and lose or duplicate nothing."""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import SEEDS, fake_embedder
from qa import Assistant
from qa.errors import LLMUnavailableError, StoreUnavailableError


def build(folder, data, **kw):
    return Assistant.build([folder], data_dir=data, embed_model=fake_embedder(), **kw)


def test_same_article_under_two_names_is_indexed_once(seeds, tmp_path):
    (seeds / "copy_of_001.txt").write_text((seeds / "001_0c16718d7dae18e4.txt").read_text())
    a = Assistant(data_dir=tmp_path / "d", require_index=False, embed_model=fake_embedder())
    report = a.index([seeds])
    assert report.articles == 3
    assert any("copy_of_001.txt: same text as" in s for s in report.skipped)
    assert {x["source"] for x in a.articles()} == {p.name for p in SEEDS.glob("*.txt")}


def test_oversized_and_unreadable_files_are_skipped_with_notes(seeds, tmp_path):
    (seeds / "huge.txt").write_text("word " * 300_000)  # 1.4 MB
    (seeds / "latin1.txt").write_bytes("Caf\xe9 news".encode("latin-1"))
    (seeds / "binary.txt").write_bytes(b"\x00\x01\x02" * 10)
    (seeds / "empty.md").write_text("")
    (seeds / "notes.pdf").write_bytes(b"%PDF-1.4")
    a = Assistant(data_dir=tmp_path / "d", require_index=False, embed_model=fake_embedder(),
                  max_file_mb=1)
    report = a.index([seeds])
    notes = "\n".join(report.skipped)
    assert report.articles == 3
    for expected in ("huge.txt: 1 MB is over the 1 MB limit", "latin1.txt: not UTF-8",
                     "binary.txt: binary", "empty.md: empty", "notes.pdf: not a .txt"):
        assert expected in notes


def test_a_big_file_is_split_in_blocks_with_exact_offsets(tmp_path):
    from index.chunk import split_article
    from index.load import read_article

    para = (SEEDS / "002_d1d51d3d16951b55.txt").read_text()
    big = tmp_path / "big.txt"
    big.write_text((para + "\n\n") * 60)  # ~290 KB: more than one block
    article = read_article(big)
    passages = split_article(article, 128, 24)
    assert passages[-1].end > 280_000
    for p in passages:
        assert article.text[p.start:p.end] == p.text
    assert len({p.id for p in passages}) == len(passages)


def test_data_dir_that_cannot_be_written_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreUnavailableError, match="Choose a writable --data-dir"):
        Assistant(data_dir=blocker / "data", require_index=False)


def test_two_index_runs_at_once_take_turns(seeds, tmp_path):
    a = build(seeds, tmp_path / "d")
    count = a.store.count()
    b = Assistant(data_dir=tmp_path / "d", embed_model=fake_embedder())
    (seeds / "extra.txt").write_text("A new article about a ceasefire in Gaza.\n\nIt was agreed.")
    done = []
    with a.store.lock():
        worker = threading.Thread(target=lambda: done.append(b.index([seeds])))
        worker.start()
        time.sleep(1.0)
        assert not done  # waiting for the lock
    worker.join(30)
    assert done and done[0].added >= 1
    assert a.store.count() == count + done[0].added


def _silent_server():
    """A TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []
    threading.Thread(target=lambda: [held.append(server.accept()) for _ in range(8)],
                     daemon=True).start()
    return server


def test_hanging_llm_endpoint_times_out_with_a_clear_error(make_assistant, tmp_path, seeds):
    server = _silent_server()
    port = server.getsockname()[1]
    a = Assistant.build([seeds], data_dir=tmp_path / "data", embed_model=fake_embedder(),
                        llm="openai", api_base=f"http://127.0.0.1:{port}/v1", model="m",
                        timeout=2, api_key="sk-very-secret", min_similarity=0.0)
    a.retrieve("How many missiles did Iran fire?")  # imports and loads done before the clock
    a.llm  # the hosted-LLM client is built here, not inside the timed call
    t = time.monotonic()
    with pytest.raises(LLMUnavailableError, match="did not answer.*within 2s") as e:
        a.ask("How many missiles did Iran fire?")
    assert time.monotonic() - t < 10
    assert "sk-very-secret" not in str(e.value)
    server.close()


@pytest.mark.slow
def test_index_killed_mid_embedding_is_finished_by_the_next_run(tmp_path):
    from eval.bench import write_articles

    corpus = tmp_path / "corpus"
    write_articles(corpus, n_articles=30)
    cli = [sys.executable, "-m", "qa.cli", "index"]
    clean = Assistant.build([corpus], data_dir=tmp_path / "clean")
    expected = sorted(p.id for p in clean.store.passages())

    data = tmp_path / "killed"
    proc = subprocess.Popen(cli + ["--data-dir", str(data), str(corpus)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # kill once some, not all, passages are stored
        count = _count(data)
        if 0 < count < len(expected):
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < _count(data) < len(expected)

    r = subprocess.run(cli + ["--data-dir", str(data), str(corpus)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    resumed = Assistant(data_dir=data)
    assert sorted(p.id for p in resumed.store.passages()) == expected
    assert resumed.store.count() == len(expected)


def _count(data) -> int:
    if not (data / "chroma").exists():
        return 0
    code = ("import sys; from index.store import Store; "
            "print(Store(sys.argv[1]).count())")
    r = subprocess.run([sys.executable, "-c", code, str(data)], capture_output=True, text=True)
    return int(r.stdout.strip() or 0)


# Eight sessions, each with a question whose answer has a word no other answer has, and the
# word its topic is known by (a follow-up rewritten with another session's history shows it).
SESSIONS = [
    ("How many ballistic missiles did Iran fire at Israel?", "400", "ballistic"),
    ("Who is Hezbollah's deputy leader?", "Kassem", "deputy"),
    ("Where were Bassam Abdo and his son Khaled heading?", "Tripoli", "Abdo"),
    ("In which city was a school building hit?", "Gedera", "school"),
    ("Who took responsibility for Iran's missile attack?", "IRGC|Revolutionary Guard", "responsibility"),
    ("How many more troops will the Pentagon send to the Middle East?", "few thousand", "Pentagon"),
    ("What did the Lebanese army official call the pullback from checkpoints?", "redeployment", "checkpoint"),
    ("How far north were residents of southern Lebanon told to move?", "40 miles", "residents"),
]


@pytest.mark.slow
def test_eight_chat_sessions_at_once_get_their_own_answers(seed_index, tmp_path):
    import statistics
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    from conftest import free_port, serving

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    health, stop = [], threading.Event()

    def probe():
        while not stop.is_set():
            t = time.monotonic()
            try:
                ok = urllib.request.urlopen(url + "gradio_api/info", timeout=5).status == 200
            except Exception:
                ok = False
            health.append((ok, time.monotonic() - t))
            stop.wait(1.0)

    def session(spec):
        question, _, _ = spec
        client = Client(url, verbose=False)
        out = []
        for q in (question, "Tell me more about that."):
            t = time.monotonic()
            text, html = client.predict(q, api_name="/ask")
            out.append((text, html, time.monotonic() - t))
        return out

    chat = [sys.executable, "-m", "qa.cli", "chat", "--data-dir", str(seed_index), "--port",
            str(port)]
    with open(tmp_path / "chat.log", "w") as log, serving(chat, url, 300, log):
        threading.Thread(target=probe, daemon=True).start()
        t0 = time.monotonic()
        try:
            with ThreadPoolExecutor(len(SESSIONS)) as pool:
                results = list(pool.map(session, SESSIONS))
        finally:
            stop.set()
        wall = time.monotonic() - t0

    latencies = []
    for (question, expected, topic), turns in zip(SESSIONS, results):
        (first, _, t1), (_, second_html, t2) = turns
        latencies += [t1, t2]
        assert re.search(expected, first, re.I), (question, first)
        others = [w for _, w, _ in SESSIONS if w != expected]
        assert not any(re.search(w, first, re.I) for w in others), (question, first)
        searched = second_html.split("Searched for", 1)[-1].split("</", 1)[0]
        assert not any(re.search(rf"\b{t}", searched, re.I)
                       for _, _, t in SESSIONS if t != topic), searched
        assert "⚠" not in first
    assert health and all(ok for ok, _ in health), health
    print(f"\n8 sessions x 2 questions: {16 / wall * 60:.1f} answers/min over {wall:.0f}s; "
          f"latency per answer (queue included) median {statistics.median(latencies):.1f}s, "
          f"max {max(latencies):.1f}s; health p50 {statistics.median(h for _, h in health) * 1000:.0f} ms")
