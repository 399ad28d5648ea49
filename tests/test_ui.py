"""The Gradio chat: rendering and policy with fake models; a real browser and client when slow."""
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, free_port, wait_for
from qa.errors import IndexMissingError, LLMUnavailableError
from qa.types import Answer, ArticleInfo, Citation
from ui import render
from ui.app import API_NAME, check_exposure, create_app, is_loopback, serve
from ui.articles import Articles, examples, selected
from ui.chat import Chat

XSS = '<script>alert(1)</script><img src=x onerror="window.__xss=1">'
MISSILES = "How many ballistic missiles did Iran fire at Israel?"
FOLLOW_UP = "Which country helped intercept them?"
# An invented article to upload: a byline with an outlet, a date, and a fact to ask about.
HARBOR_TITLE = "Riverton harbor festival draws record crowd"
HARBOR = (f"{HARBOR_TITLE}\n\nBy Dana Whitfield, Riverton Gazette\nMarch 14, 2025\n\n"
          "The Riverton harbor festival drew 12,000 visitors on Saturday, organisers said. "
          "The lighthouse parade closed the evening with forty decorated boats.\n")
HARBOR_Q = "How many visitors did the Riverton harbor festival draw?"


def _answer(answer="Iran fired 400 ballistic missiles [1].", abstained=False, **cite) -> Answer:
    c = dict(number=1, source="001_x.txt", passage_id="p1", start=0, end=60, score=0.734,
             title="Iran fires missiles", text="Iran fired 400 ballistic missiles. It was night.",
             quote="Iran fired 400 ballistic missiles.")
    c.update(cite)
    return Answer(question="q", text=answer, abstained=abstained,
                  citations=[] if abstained else [Citation(**c)],
                  timings={"retrieve_s": 0.1, "first_token_s": 1.5, "total_s": 4.0},
                  searched="How many missiles did Iran fire?")


def _final(chat: Chat, message: str, history=None) -> tuple[str, str]:
    *_, last = chat.respond(message, history or [])
    return last


# Fast: fake embedder, scripted LLM --------------------------------------------------------------
def test_create_app_builds_without_serving(make_assistant):
    import gradio as gr

    assistant = make_assistant("Iran fired 400 ballistic missiles [1].")
    app = create_app(assistant)
    assert isinstance(app, gr.Blocks)
    # The chat's endpoint is the only API: uploads and removals are the page's own.
    assert {fn.api_name for fn in app.fns.values() if fn.api_visibility == "public"} == {API_NAME}
    assert not app.is_running
    bot = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "qa-chat")
    asked = [e["text"] for e in bot.examples]
    assert asked == examples(assistant.articles()) and len(asked) == 3
    assert asked[0].startswith("What does “" + assistant.articles()[-1].title[:40])


def test_example_questions_are_generic_about_the_newest_articles():
    infos = [ArticleInfo(source=f"{n}.txt", path=f"/a/{n}.txt", title=t)
             for n, t in enumerate(["Old story", "", "Mid story", "New  story " + "word " * 30])]
    asked = examples(infos)
    assert asked[1:] == ["What does “Mid story” report?", "What does “Old story” report?"]
    assert asked[0].startswith("What does “New story word") and asked[0].endswith("…” report?")
    assert len(asked[0]) < 110 and examples([]) == []


def test_no_sentence_of_the_seeds_or_the_eval_sets_is_in_the_ui_code():
    code = " ".join(" ".join(f.read_text().split()) for f in (ROOT / "ui").glob("*.py"))
    said = [s for f in (ROOT / "seeds").glob("*.txt")
            for s in re.split(r"(?<=[.!?])\s+", " ".join(f.read_text().split()))]
    for f in (ROOT / "eval").rglob("*.jsonl"):
        rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
        said += [r.get(k, "") for r in rows for k in ("question", "answer")]
    said = [s.strip() for s in said if len(s.strip()) >= 25]
    assert len(said) > 100 and not [s for s in said if s in code]


def test_header_names_the_articles_and_the_model():
    html = render.header([ArticleInfo(source="a.txt", path="/a.txt", title="First story"),
                          ArticleInfo(source="b<i>.txt", path="/b.txt", title=XSS)], "qwen-1.5b")
    assert "2 articles" in html and "First story" in html and "qwen-1.5b" in html
    assert "<script" not in html and "<img" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_sources_are_numbered_with_the_quote_highlighted_and_the_score():
    html = render.sources(_answer())
    assert 'id="qa-source-1"' in html and "[1]" in html and "001_x.txt" in html
    assert "<mark>Iran fired 400 ballistic missiles.</mark> It was night." in html
    assert "relevance 0.73" in html and "Searched for: <q>How many missiles did Iran fire?</q>" in html


def test_each_source_shows_its_title_outlet_and_date_beside_the_file_name():
    html = render.sources(_answer(outlet="Riverton <Gazette>", date="2025-03-14"))
    meta = html[html.index('class="qa-meta"'):]
    assert "Iran fires missiles" in html and "Riverton &lt;Gazette&gt;" in meta
    assert "14 Mar 2025" in meta and "<code>001_x.txt</code>" in meta
    bare = render.sources(_answer(outlet="", date=""))  # unknown: not shown, no stray dots
    assert "<span>" not in bare and '"qa-meta"><code>001_x.txt</code>' in bare


def test_sources_panel_escapes_html_from_articles():
    html = render.sources(_answer(title=XSS, source="<b>x</b>.txt", text=f"Before. {XSS} After.",
                                  quote=XSS))
    assert "<script" not in html and "<img" not in html and "<b>x</b>" not in html
    assert "<mark>&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;" in html
    assert "&lt;b&gt;x&lt;/b&gt;.txt" in html
    # The model could repeat it: the chat shows it as text too (Markdown decodes the entities).
    assert render.chat_text(_answer(answer=f"It read {XSS} [1].")) == (
        "It read &lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x "
        'onerror="window.__xss=1"&gt; [1].')


def test_an_indexed_script_tag_reaches_the_panel_escaped(make_assistant, seeds):
    (seeds / "zz_prank.txt").write_text(
        f"Harbor festival prank\n\nThe Riverton harbor festival drew 12,000 visitors. "
        f"Students hung a banner that read {XSS} over the stage.\n")
    chat = Chat(make_assistant("The Riverton harbor festival drew 12,000 visitors [1]."))
    text, html = _final(chat, "How many visitors did the Riverton harbor festival draw?")
    assert "12,000" in text and "zz_prank.txt" in html
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_refusal_shows_as_one_with_no_sources(make_assistant):
    text, html = _final(Chat(make_assistant("The articles do not say.")),
                        "What is the capital of Australia?")
    assert text == render.REFUSAL_MARK + "The articles do not say."
    assert "Refused" in html and "qa-source" not in html and "<mark>" not in html


def test_answers_stream_then_the_checked_text_replaces_them(make_assistant):
    reply = "Iran fired 400 ballistic missiles at Israel [1]. Israel vowed to retaliate [1]."
    steps = list(Chat(make_assistant(reply)).respond(MISSILES, []))
    texts = [t.removesuffix(render.CURSOR) for t, _ in steps[:-1]]
    assert len(texts) > 5 and all(texts[i] in texts[i + 1] for i in range(len(texts) - 1))
    assert all(t.endswith(render.CURSOR) for t, _ in steps[:-1])
    assert all("qa-pending" in html for _, html in steps[:-1])
    text, html = steps[-1]
    assert "400" in text and "[1]" in text and "001_0c16718d7dae18e4.txt" in html


class _Failing:
    def __init__(self, error):
        self.error = error

    def stream(self, question, history=None):
        yield "Iran"
        raise self.error


@pytest.mark.parametrize("error, shown", [
    (IndexMissingError(".qa/chroma"), "Run `qa index`"),
    (LLMUnavailableError("The LLM endpoint http://x/v1 did not answer"), "did not answer"),
    (KeyError("secret internals"), "Something went wrong while answering (KeyError)"),
])
def test_errors_show_as_a_readable_message_in_the_chat(error, shown):
    chat = Chat(_Failing(error))
    text, html = _final(chat, MISSILES)
    assert text.startswith(render.ERROR_MARK) and shown in text
    assert "Traceback" not in text and "secret internals" not in text
    assert "not answered" in html
    assert _final(chat, MISSILES)[0].startswith(render.ERROR_MARK)  # the lock was released


def test_stop_closes_the_stream_and_frees_the_model(make_assistant):
    chat = Chat(make_assistant("Iran fired 400 ballistic missiles at Israel [1]. " * 3))
    steps = chat.respond(MISSILES, [])
    next(steps), next(steps)
    steps.close()  # what Gradio does when Stop is pressed
    assert "400" in _final(chat, MISSILES)[0]


def test_history_keeps_answers_and_drops_errors_and_stopped_ones():
    messages = [
        {"role": "user", "content": "Q0"},
        {"role": "assistant", "content": render.streamed_text("Iran fired")},  # stopped
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": [{"type": "text", "text": "A &lt;1&gt; [1]."}]},
        {"role": "user", "content": "Q2"},
        {"role": "assistant", "content": render.error_text("model missing")},
        {"role": "user", "content": [{"type": "text", "text": "Q3"}]},
        {"role": "assistant", "content": render.REFUSAL_MARK + "The articles do not say."},
    ]
    assert render.history_pairs(messages) == [("Q1", "A <1> [1]."),
                                              ("Q3", "The articles do not say.")]


# The Articles tab: its handlers, called as the page calls them ----------------------------------
def _file(folder, name: str, content: str | bytes):
    """A file as Gradio hands an upload over: a path in its own folder, under its own name."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


def _state(assistant) -> tuple:
    """Everything an upload must not change when it fails: articles, passages, reading."""
    return (assistant.articles(), assistant.store.count(),
            sorted(p.id for p in assistant.store.passages()))


def test_an_upload_is_listed_and_answered_with_its_title_outlet_and_date(make_assistant, tmp_path):
    assistant = make_assistant()
    chat = Chat(assistant)
    library, shown = Articles(assistant, chat), []
    html, listing = library.upload([_file(tmp_path / "in", "harbor.txt", HARBOR)],
                                   lambda *a, **k: shown.append(k.get("desc")))
    assert "Added <b>Riverton harbor festival draws record crowd</b>" in html
    assert "harbor.txt" in html and "qa-error" not in html and "Adding harbor.txt" in shown[0]
    copy = tmp_path / "data" / "uploads" / "harbor.txt"
    assert copy.read_text() == HARBOR and (str(copy), [
        HARBOR_TITLE, "Riverton Gazette", "2025-03-14", 1, "harbor.txt"]) == listing[-1]
    assert len(listing) == 4 and listing == library.listing()
    # The next question reads the new article and cites its passage.
    assistant.llm.replies[0] = "The Riverton harbor festival drew 12,000 visitors."
    text, panel = _final(chat, HARBOR_Q)
    assert text == "The Riverton harbor festival drew 12,000 visitors [1]."
    assert all(s in panel for s in (HARBOR_TITLE, "Riverton Gazette", "14 Mar 2025", "harbor.txt"))


def test_remove_drops_the_article_and_its_uploaded_copy_only(make_assistant, tmp_path, seeds):
    assistant = make_assistant()
    library = Articles(assistant, Chat(assistant))
    _, listing = library.upload([_file(tmp_path / "in", "harbor.txt", HARBOR)])
    html, listing = library.remove(listing[-1][0])
    assert "Removed <b>Riverton harbor festival draws record crowd</b>" in html
    assert "1 passage)" in html and len(listing) == 3 and "harbor.txt" not in str(listing)
    assert not (tmp_path / "data" / "uploads" / "harbor.txt").exists()
    assert "harbor.txt" not in {p.source for p in assistant.store.passages()}
    seed = listing[0][0]
    html, listing = library.remove(seed)  # a seed leaves the index, its file stays
    assert "Removed" in html and len(listing) == 2 and (seeds / Path(seed).name).exists()
    assert "already removed" in library.remove(seed)[0]
    assert "Select an article" in library.remove(None)[0] and len(library.listing()) == 2


def test_removing_every_article_says_the_collection_is_empty(make_assistant):
    assistant = make_assistant()
    library = Articles(assistant, Chat(assistant))
    for path, _ in library.listing()[1:]:
        library.remove(path)
    html, listing = library.remove(library.listing()[0][0])
    assert "Removed" in html and "The collection is empty" in html and listing == []


def test_a_clashing_name_gets_a_number_and_the_same_file_is_not_added_twice(make_assistant,
                                                                              tmp_path):
    assistant = make_assistant()
    library = Articles(assistant, Chat(assistant))
    seed = assistant.articles()[0].source
    other = HARBOR.replace("12,000", "9,000").replace("Riverton", "Lakeside")
    _, listing = library.upload([_file(tmp_path / "a", "harbor.txt", HARBOR),
                                 _file(tmp_path / "b", "harbor.txt", other),
                                 _file(tmp_path / "c", seed, other + "\nA third version.\n")])
    assert [shown[4] for _, shown in listing[3:]] == ["harbor.txt", "harbor-2.txt",
                                                      seed.replace(".txt", "-2.txt")]
    before = _state(assistant)
    html, _ = library.upload([_file(tmp_path / "d", "copy.txt", HARBOR)])
    assert "already in the collection as harbor.txt" in html and _state(assistant) == before


def _pdf(*lines: str) -> bytes:
    """A one-page PDF with a text layer: each line a text-show operation."""
    shown = " 0 -20 Td ".join(f"({line}) Tj" for line in lines)
    stream = f"BT /F1 12 Tf 72 720 Td {shown} ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + (b"xref\n0 6\n0000000000 65535 f \n%strailer\n<< /Size 6 /Root 1 0 R >>\n"
                  b"startxref\n%d\n%%%%EOF\n" % (xref, len(out)))


def test_markdown_html_and_pdf_files_are_added_in_one_upload(make_assistant, tmp_path):
    assistant = make_assistant()
    folder = tmp_path / "in"
    html, listing = Articles(assistant, Chat(assistant)).upload([
        _file(folder, "notes.md", "# Lakeside council votes\n\nThe council voted 7 to 2.\n"),
        _file(folder, "page.html", "<html><head><title>Bridge reopens</title></head><body>"
                                   "<p>The old bridge reopened on Monday after repairs.</p>"
                                   "</body></html>"),
        _file(folder, "memo.pdf", _pdf("Ferry timetable changes", "Ferries leave hourly.")),
    ])
    assert html.count("qa-added") == 3 and "was not added" not in html
    assert [shown[0] for _, shown in listing[3:]] == [
        "Lakeside council votes", "Bridge reopens", "Ferry timetable changes"]


BIG = 21 * 2**20
BAD_FILES = [
    ("notes.docx", b"PK\x03\x04 a Word file", "not a .txt, .md, .html or .pdf file"),
    ("binary.txt", b"\x00\x01\x02" * 50, "binary data"),
    ("empty.txt", b"", "empty"),
    ("latin1.txt", "Caf\xe9 owners met on Monday.".encode("latin-1"), "not UTF-8"),
    ("broken.pdf", b"%PDF-1.4 not really", "PDF"),
    ("huge.txt", None, "21.0 MB is over the 20 MB limit"),
]


@pytest.mark.parametrize("name, content, why", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_file_gets_a_message_and_nothing_is_lost(make_assistant, tmp_path, name, content,
                                                        why):
    assistant = make_assistant()
    library = Articles(assistant, Chat(assistant))
    if content is None:  # sparse: the size is checked before anything is read
        with open(tmp_path / name, "wb") as f:
            f.truncate(BIG)
        bad = str(tmp_path / name)
    else:
        bad = _file(tmp_path / "in", name, content)
    before = _state(assistant)
    html, listing = library.upload([bad])
    assert f"<b>{name}</b> was not added: " in html and why in html and "Added" not in html
    assert str(tmp_path) not in html  # the note names the file, not where the server keeps it
    assert _state(assistant) == before and len(listing) == 3
    assert not list((tmp_path / "data" / "uploads").glob("*"))
    # With a good file beside it, the good one is added all the same.
    html, listing = library.upload([bad, _file(tmp_path / "ok", "harbor.txt", HARBOR)])
    assert "was not added" in html and "Added" in html and listing[-1][1][4] == "harbor.txt"


def test_concurrent_uploads_leave_a_consistent_index(make_assistant, tmp_path):
    assistant = make_assistant()
    library = Articles(assistant, Chat(assistant))
    files = [_file(tmp_path / str(i), "same.txt", HARBOR.replace("12,000", f"{i},500"))
             for i in range(3)]
    threads = [threading.Thread(target=library.upload, args=([f],)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    infos = assistant.articles()
    uploaded = sorted(a.source for a in infos if library.is_upload(a.path))
    assert uploaded == ["same-2.txt", "same-3.txt", "same.txt"]
    assert sorted(p.name for p in (tmp_path / "data" / "uploads").iterdir()) == uploaded
    assert assistant.store.count() == sum(a.passages for a in infos)
    assert len(list((tmp_path / "data" / "sentences").glob("*.npy"))) == assistant.store.count()


def test_an_upload_waits_for_the_answer_being_written(make_assistant, tmp_path):
    assistant = make_assistant("Iran fired 400 ballistic missiles at Israel [1]. " * 3)
    chat = Chat(assistant)
    library, shown = Articles(assistant, chat), []
    steps = chat.respond(MISSILES, [])
    next(steps)  # the answer has begun: the model is busy
    upload = threading.Thread(target=library.upload, args=(
        [_file(tmp_path / "in", "harbor.txt", HARBOR)], lambda *a, **k: shown.append(k["desc"])))
    upload.start()
    time.sleep(1.0)
    assert upload.is_alive() and len(assistant.articles()) == 3
    assert any(d.startswith("Waiting for the answer") for d in shown)
    list(steps)  # the answer finishes; then the upload runs
    upload.join(120)
    assert not upload.is_alive() and assistant.articles()[-1].source == "harbor.txt"


def test_a_selected_row_maps_to_its_article_even_when_the_table_was_sorted():
    listing = [("/a/1.txt", ["One", "", "", 3, "1.txt"]), ("/b/1.txt", ["Two", "", "", 2, "1.txt"])]
    assert selected(listing, 0, ["Two", "", "", "2", "1.txt"]) == "/b/1.txt"
    assert selected(listing, 1, None) == "/b/1.txt"
    assert selected(listing, 5, None) is None and selected([], 0, None) is None


@pytest.mark.filterwarnings("ignore:::gradio.queueing")  # pandas deprecations inside Gradio
def test_each_api_session_keeps_its_own_history(make_assistant):
    """Two gradio_client sessions on one in-process server: no cross-talk."""
    from gradio_client import Client

    assistant = make_assistant("Iran fired 400 ballistic missiles at Israel [1].")
    app = create_app(assistant)
    app.queue(default_concurrency_limit=1)
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        first, second = Client(url, verbose=False), Client(url, verbose=False)
        text, html = first.predict(MISSILES, api_name=f"/{API_NAME}")
        assert text == "Iran fired 400 ballistic missiles at Israel [1]." and "001_" in html
        prompts = assistant.llm.prompts
        asked = len(prompts)
        second.predict("Who is Hezbollah's deputy leader?", api_name=f"/{API_NAME}")
        assert all(MISSILES not in str(p) for p in prompts[asked:])  # no history from `first`
        asked = len(prompts)
        first.predict(FOLLOW_UP, api_name=f"/{API_NAME}")
        assert MISSILES in str(prompts[asked])  # the follow-up was condensed with its history
    finally:
        app.close()


@pytest.mark.parametrize("host, auth, no_auth, ok", [
    ("127.0.0.1", None, False, True),
    ("localhost", None, False, True),
    ("::1", None, False, True),
    ("0.0.0.0", None, False, False),
    ("192.168.1.5", None, False, False),
    ("myhost.example", None, False, False),
    ("0.0.0.0", "reader:pass phrase", False, True),
    ("0.0.0.0", None, True, True),
    ("127.0.0.1", "no-colon", False, False),
    ("127.0.0.1", ":password", False, False),
    ("127.0.0.1", "user:", False, False),
])
def test_a_non_loopback_host_needs_a_password_or_no_auth(host, auth, no_auth, ok):
    if ok:
        creds = check_exposure(host, auth, no_auth)
        assert creds == (tuple(auth.split(":", 1)) if auth else None)
    else:
        with pytest.raises(ValueError, match="--auth"):
            check_exposure(host, auth, no_auth)


def test_serve_refuses_an_open_public_host_and_a_missing_index(tmp_path, capsys):
    from qa import Config

    config = Config.load(data_dir=tmp_path / "empty")
    assert serve(config, host="0.0.0.0", port=free_port()) == 2
    assert "--auth user:password" in capsys.readouterr().err
    assert serve(config, host="127.0.0.1", port=free_port()) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "qa index" in err and "Traceback" not in err
    assert is_loopback("127.0.0.2") and not is_loopback("0.0.0.0")


# Slow: the real models behind `qa chat`, driven by Debian's Chromium -------------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
BOT = "#qa-chat [data-testid='bot']"

# Records, in the page, when Enter was pressed, when the new answer first showed text, when its
# text last changed, and when the sources panel went from pending to done.
WATCH = """() => {
  const s = window.__qa = {t0: null, first: null, last: null, done: null, pending: false, stop: false,
    bots: document.querySelectorAll("%s").length, text: ""};
  document.querySelector("#qa-question textarea").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && s.t0 === null) s.t0 = performance.now();
  }, {capture: true});
  const check = () => {
    const now = performance.now();
    const bots = document.querySelectorAll("%s");
    if (bots.length > s.bots) {
      const text = bots[bots.length - 1].innerText.trim();
      if (text && text !== s.text) { if (s.first === null) s.first = now; s.last = now; s.text = text; }
    }
    if (document.querySelector("#qa-question [data-testid='stop-button']")) s.stop = true;
    const panel = document.querySelector("#qa-sources");
    if (panel.querySelector(".qa-pending")) s.pending = true;
    else if (s.pending && s.done === null && panel.querySelector(".qa-done")) s.done = now;
  };
  new MutationObserver(check).observe(document.body,
    {subtree: true, childList: true, characterData: true, attributes: true});
}""" % (BOT, BOT)


def _start_chat(data_dir, log_path):
    port = free_port()
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "chat", "--data-dir", str(data_dir), "--port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/", 300, proc)
    except Exception:
        proc.kill()
        raise RuntimeError(f"qa chat did not start:\n{open(log_path).read()}") from None
    return proc, f"http://127.0.0.1:{port}/"


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def seed_chat(seed_index, tmp_path_factory):
    """`qa chat` over the seed index with the real models, shared by the slow tests here."""
    proc, url = _start_chat(seed_index, tmp_path_factory.mktemp("chat") / "server.log")
    yield url
    _stop(proc)


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (make test does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    page.wait_for_selector("#qa-question textarea")
    return page, dialogs


def _ask(page, question: str) -> dict:
    """Type `question`, press Enter, wait for the answer; the in-page timings in seconds."""
    page.evaluate(WATCH)
    box = page.locator("#qa-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function("window.__qa.done !== null", timeout=600_000, polling=100)
    s = page.evaluate("window.__qa")
    return {"first_s": (s["first"] - s["t0"]) / 1000, "last_s": (s["last"] - s["t0"]) / 1000,
            "text": s["text"], "stop_button": s["stop"]}


@pytest.mark.slow
def test_browser_streams_a_cited_answer_and_a_follow_up(seed_chat, browser, tmp_path):
    page, dialogs = _open(browser, seed_chat)
    assert "3 articles" in page.locator("#qa-header").inner_text()

    first = _ask(page, MISSILES)
    assert first["stop_button"]  # shown while the answer streamed
    answer = page.locator(BOT).last.inner_text()
    assert "400" in answer and "[1]" in answer
    panel = page.locator("#qa-sources")
    assert "001_0c16718d7dae18e4.txt" in panel.inner_text()
    assert panel.locator("#qa-source-1 mark").count() == 1
    page.screenshot(path=tmp_path / "answer.png", full_page=True)

    second = _ask(page, FOLLOW_UP)
    follow = page.locator(BOT).last.inner_text()
    assert any(w in follow for w in ("United States", "U.S.", "American")), follow
    assert "001_0c16718d7dae18e4.txt" in panel.inner_text()
    searched = panel.locator(".qa-searched").inner_text()
    assert searched.startswith("Searched for:") and "missile" in searched.lower(), searched
    shot = tmp_path / "follow-up.png"
    page.screenshot(path=shot, full_page=True)
    assert not dialogs
    for name, t in (("question", first), ("follow-up", second)):
        print(f"\n{name}: Enter -> first token {t['first_s']:.1f}s, -> last token "
              f"{t['last_s']:.1f}s")
    print(f"screenshot: {shot}")
    page.close()


@pytest.mark.slow
def test_gradio_client_gets_the_answer_the_python_api_gives(seed_chat, seed_index):
    from gradio_client import Client

    from qa import Assistant

    text, html = Client(seed_chat, verbose=False).predict(MISSILES, api_name=f"/{API_NAME}")
    expected = Assistant(data_dir=seed_index).ask(MISSILES)
    assert text == render.chat_text(expected) == expected.text
    assert "001_0c16718d7dae18e4.txt" in html


@pytest.mark.slow
def test_an_article_with_a_script_tag_shows_as_text_in_the_browser(browser, tmp_path):
    from qa import Assistant

    article = tmp_path / "articles" / "prank.txt"
    article.parent.mkdir()
    article.write_text(
        f"Harbor festival {XSS} draws record crowd\n\n"
        f"The Riverton harbor festival drew 12,000 visitors on Saturday, organisers said. "
        f"Students hung a banner over the main stage that read {XSS} as a prank.\n")
    Assistant.build([article.parent], data_dir=tmp_path / "data")
    proc, url = _start_chat(tmp_path / "data", tmp_path / "server.log")
    try:
        page, dialogs = _open(browser, url)
        assert "<script>alert(1)</script>" in page.locator("#qa-header").inner_text()
        # The empty chat's example question names the title: as text, too.
        assert "<script>alert(1)</script>" in page.locator("#qa-chat").inner_text()
        assert page.locator("img[src='x']").count() == 0
        _ask(page, "How many visitors did the Riverton harbor festival draw?")
        panel = page.locator("#qa-sources")
        assert "prank.txt" in panel.inner_text()
        assert XSS in panel.locator("#qa-source-1 .qa-passage").inner_text()
        assert page.locator("#qa-sources script, #qa-sources img, #qa-header img").count() == 0
        page.get_by_role("tab", name="Articles").click()  # the table shows the title as text
        assert XSS in page.locator("#qa-article-table").inner_text()
        assert page.locator("img[src='x'], #qa-article-table script").count() == 0
        assert page.evaluate("window.__xss") is None and not dialogs
        page.screenshot(path=tmp_path / "escaped.png", full_page=True)
    finally:
        _stop(proc)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:::gradio.queueing")
def test_browser_uploads_asks_about_and_removes_an_article(make_assistant, browser, tmp_path):
    """Scripted LLM (its reply cites the uploaded article's passage), real page, real Chromium."""
    assistant = make_assistant()
    app = create_app(assistant)
    app.queue(default_concurrency_limit=1)
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        page, dialogs = _open(browser, f"http://127.0.0.1:{port}/")
        header, table = page.locator("#qa-header"), page.locator("#qa-article-table")
        page.get_by_role("tab", name="Articles").click()
        page.locator("#qa-upload input[type=file]").set_input_files(
            _file(tmp_path / "in", "harbor.txt", HARBOR))
        page.locator("#qa-upload-status .qa-added").wait_for(timeout=60_000)
        assert HARBOR_TITLE in page.locator("#qa-upload-status").inner_text()
        row = table.locator("[role=row]", has_text=HARBOR_TITLE)
        assert all(s in row.inner_text() for s in ("Riverton Gazette", "2025-03-14", "harbor.txt"))
        header.filter(has_text="4 articles").wait_for(timeout=10_000)

        assistant.llm.replies[0] = "The Riverton harbor festival drew 12,000 visitors."
        page.get_by_role("tab", name="Chat").click()
        page.get_by_text(f"What does “{HARBOR_TITLE}” report?").wait_for(timeout=10_000)
        _ask(page, HARBOR_Q)
        assert "12,000" in page.locator(BOT).last.inner_text()
        cited = page.locator("#qa-sources #qa-source-1").inner_text()
        assert all(s in cited for s in (HARBOR_TITLE, "Riverton Gazette", "14 Mar 2025",
                                        "harbor.txt")), cited
        page.screenshot(path=tmp_path / "cited.png", full_page=True)

        page.get_by_role("tab", name="Articles").click()
        row.get_by_role("gridcell", name="harbor.txt").click()
        remove = page.locator("#qa-remove")
        page.wait_for_function("document.querySelector('#qa-remove').innerText"
                               ".includes('Remove “')")
        remove.click()
        page.locator("#qa-upload-status", has_text="Removed").wait_for(timeout=60_000)
        page.wait_for_function("!document.querySelector('#qa-article-table').innerText"
                               ".includes('harbor.txt')")
        header.filter(has_text="3 articles").wait_for(timeout=10_000)
        page.screenshot(path=tmp_path / "removed.png", full_page=True)
        assert remove.is_disabled() and "0.0s" not in header.inner_text()
        assert "harbor.txt" not in {a.source for a in assistant.articles()}
        assert not list((tmp_path / "data" / "uploads").iterdir())
        page.get_by_role("tab", name="Chat").click()
        _ask(page, HARBOR_Q)  # the same reply now cites nothing real: a refusal
        assert "No answer." in page.locator(BOT).last.inner_text() and not dialogs
        page.close()
    finally:
        app.close()
