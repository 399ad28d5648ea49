"""The Gradio chat: rendering and policy with fake models; a real browser and client when slow."""
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, free_port, wait_for
from qa.errors import IndexMissingError, LLMUnavailableError
from qa.types import Answer, Citation
from ui import render
from ui.app import API_NAME, check_exposure, create_app, examples_for, is_loopback, serve
from ui.chat import Chat

XSS = '<script>alert(1)</script><img src=x onerror="window.__xss=1">'
MISSILES = "How many ballistic missiles did Iran fire at Israel?"
FOLLOW_UP = "Which country helped intercept them?"


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
    assert API_NAME in {fn.api_name for fn in app.fns.values()}
    assert not app.is_running
    assert MISSILES in examples_for(assistant.articles())
    assert examples_for([{"source": "other.txt", "title": "Other", "passages": 1}]) == []


def test_header_names_the_articles_and_the_model():
    html = render.header([{"source": "a.txt", "title": "First story", "passages": 3},
                          {"source": "b<i>.txt", "title": XSS, "passages": 1}], "qwen-1.5b")
    assert "2 articles" in html and "First story" in html and "qwen-1.5b" in html
    assert "<script" not in html and "<img" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_sources_are_numbered_with_the_quote_highlighted_and_the_score():
    html = render.sources(_answer())
    assert 'id="qa-source-1"' in html and "[1]" in html and "001_x.txt" in html
    assert "<mark>Iran fired 400 ballistic missiles.</mark> It was night." in html
    assert "relevance 0.73" in html and "Searched for: <q>How many missiles did Iran fire?</q>" in html


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
        assert all(MISSILES not in p for p in prompts[asked:])  # no history from `first`
        asked = len(prompts)
        first.predict(FOLLOW_UP, api_name=f"/{API_NAME}")
        assert MISSILES in prompts[asked]  # the follow-up was condensed with its own history
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
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
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
        _ask(page, "How many visitors did the Riverton harbor festival draw?")
        panel = page.locator("#qa-sources")
        assert "prank.txt" in panel.inner_text()
        assert XSS in panel.locator("#qa-source-1 .qa-passage").inner_text()
        assert page.locator("#qa-sources script, #qa-sources img, #qa-header img").count() == 0
        assert page.evaluate("window.__xss") is None and not dialogs
        page.screenshot(path=tmp_path / "escaped.png", full_page=True)
    finally:
        _stop(proc)
