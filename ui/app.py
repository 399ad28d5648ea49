"""The Gradio chat: `create_app` builds it around an Assistant, `serve` runs it for `qa chat`."""
# No `from __future__ import annotations`: Gradio finds the handlers' gr.SelectData and
# gr.Progress parameters by their evaluated annotations and defaults.
import ipaddress
import sys

from qa.config import Config
from qa.errors import QAError
from ui import render
from ui.articles import COLUMNS, KINDS, LIMIT_MB, Articles, indexed, listing, selected, short
from ui.articles import examples as example_questions
from ui.chat import Chat

API_NAME = "ask"  # gradio_client: Client(url).predict("question", api_name="/ask")
REMOVE = "Remove the selected article"
PRIVATE = {"api_visibility": "private"}  # the page's own events: not part of the API


def create_app(assistant, examples: list[str] | None = None):
    """The chat UI (a gr.Blocks) over `assistant`, built but not served.

    Without `examples`, the empty chat offers a question about each of the newest articles,
    kept up to date as articles are added and removed.
    """
    import gradio as gr

    chat = Chat(assistant)
    library = Articles(assistant, chat)
    articles = indexed(assistant)
    # Gradio wires clicks on examples only for a chat built with some: a chat built without
    # (no articles yet) does not show later ones.
    follow = examples is None and bool(example_questions(articles))
    if examples is None:
        examples = example_questions(articles)
    with gr.Blocks(title="News Q&A", fill_width=True, analytics_enabled=False) as app:
        header = gr.HTML(render.header(articles, assistant.model), css_template=render.CSS,
                         js_on_load=None, elem_id="qa-header")
        sources = gr.HTML(render.empty(), css_template=render.CSS, js_on_load=None,
                          elem_id="qa-sources", render=False, padding=True, container=True)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat", elem_id="qa-chat-tab"):
                bot = _chat_tab(gr, assistant, chat, sources, examples)
            with gr.Tab("Timeline", id="timeline", elem_id="qa-timeline-tab"):
                with gr.Row():
                    topic = gr.Textbox(label="Topic", placeholder="What the events are about",
                                       scale=4, elem_id="qa-topic", submit_btn=False)
                    make = gr.Button("Make the timeline", variant="primary", scale=1,
                                     elem_id="qa-make-timeline")
                events = gr.HTML(render.article_note("Events the articles date, oldest first, "
                                                     "each with its sources."),
                                 css_template=render.CSS, js_on_load=None,
                                 elem_id="qa-timeline")
            with gr.Tab("Articles", id="articles", elem_id="qa-articles-tab") as tab:
                listed = gr.State(listing(articles))  # this page's rows, each with its path
                chosen = gr.State(None)  # the selected article's path
                with gr.Row(equal_height=False):
                    upload = gr.File(
                        label=f"Add articles: {KINDS} files, up to {LIMIT_MB} MB each",
                        file_count="multiple", type="filepath", height=150, scale=1,
                        min_width=320, elem_id="qa-upload")
                    status = gr.HTML(render.article_note(
                        "Each file added is searched for answers as soon as it is indexed."),
                        css_template=render.CSS, js_on_load=None, elem_id="qa-upload-status",
                        scale=1, min_width=320)
                table = gr.Dataframe(
                    _table(listing(articles)), headers=COLUMNS, interactive=False, wrap=True,
                    datatype=["str", "str", "str", "number", "str"], max_height=520,
                    column_widths=["44%", "16%", "11%", "8%", "21%"],
                    label="The collection (select an article to remove it)",
                    elem_id="qa-article-table")
                remove = gr.Button(REMOVE, variant="stop", interactive=False, elem_id="qa-remove")

        def refresh_chat(infos=None):
            """The header's article list and the empty chat's examples, after a change."""
            infos = indexed(assistant) if infos is None else infos
            return (render.header(infos, assistant.model),
                    gr.update(examples=[{"text": q} for q in example_questions(infos)])
                    if follow else gr.update())

        def on_load():
            """The page as the collection is now: another session may have changed it."""
            infos = indexed(assistant)
            return (*refresh_chat(infos), _table(listing(infos)), listing(infos))

        def add(files, progress=gr.Progress()):
            note, rows = library.upload(files, progress)
            return note, _table(rows), rows, None

        def pick(rows, event: gr.SelectData):
            index = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
            path = selected(rows, index, event.row_value)
            title = next((shown[0] for p, shown in rows if p == path), "")
            return path, gr.update(value=f"Remove “{short(title)}”" if path else REMOVE,
                                   interactive=path is not None)

        def drop(path):
            note, rows = library.remove(path)
            return note, _table(rows), rows, None, gr.update(value=REMOVE, interactive=False)

        def show():
            rows = library.listing()
            return _table(rows), rows

        def dated(text):
            try:
                return render.timeline(assistant.timeline(text), text)
            except QAError as e:
                return render.article_note(str(e), error=True)

        # Progress shows on the status panel only: the chat stays usable (questions wait).
        # The header and examples follow at once: a read of the index, no need to queue.
        after = {"fn": refresh_chat, "outputs": [header, bot], "show_progress": "hidden",
                 "queue": False, **PRIVATE}
        upload.upload(add, upload, [status, table, listed, upload], show_progress_on=[status],
                      **PRIVATE).then(**after)
        table.select(pick, listed, [chosen, remove], queue=False, **PRIVATE)
        make.click(dated, topic, events, show_progress_on=[events], **PRIVATE)
        topic.submit(dated, topic, events, show_progress_on=[events], **PRIVATE)
        remove.click(drop, chosen, [status, table, listed, chosen, remove],
                     show_progress_on=[status], **PRIVATE).then(**after)
        # Another session may have changed the collection since this page was built or shown.
        tab.select(show, None, [table, listed], show_progress="hidden", **PRIVATE)
        app.load(on_load, None, [header, bot, table, listed], show_progress="hidden", **PRIVATE)
    return app


def _chat_tab(gr, assistant, chat: Chat, sources, examples: list[str]):
    """The chat beside its sources panel; the chatbot component."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            interface = gr.ChatInterface(
                chat.respond,
                chatbot=gr.Chatbot(
                    label="Chat", height=560, elem_id="qa-chat", layout="bubble",
                    buttons=["copy"], feedback_options=None,
                    placeholder="Ask a question about the indexed articles (add your own on "
                                "the Articles tab).",
                ),
                textbox=gr.Textbox(
                    placeholder="Ask about the articles… (Enter to send)", show_label=False,
                    submit_btn=True, stop_btn=True, autofocus=True, elem_id="qa-question",
                    max_length=assistant.config.max_question_chars,
                ),
                additional_outputs=[sources],
                examples=examples or None,
                api_name=API_NAME,
                api_description="Answer a question from the indexed articles; returns "
                                "the cited answer and the sources panel's HTML.",
                fill_height=False,
                analytics_enabled=False,
            )
        with gr.Column(scale=2, min_width=320):
            sources.render()
    bot = interface.chatbot
    # The last answer's sources must not sit beside a new question while it is answered.
    gr.on([interface.textbox.submit, bot.example_select, bot.retry], render.pending, None,
          sources, queue=False, **PRIVATE)
    gr.on([bot.clear, bot.undo], render.empty, None, sources, queue=False, **PRIVATE)
    interface.textbox.stop(render.stopped, None, sources, queue=False, **PRIVATE)
    return bot


def _table(rows: list) -> dict:
    return {"headers": COLUMNS, "data": [shown for _, shown in rows]}


def open_assistant(config: Config):
    """The Assistant to serve, warmed; None (the error printed) when it cannot be opened."""
    from qa.assistant import Assistant

    try:
        assistant = Assistant(config)
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return None
    try:
        assistant.warm()
    except QAError as e:
        # Served anyway: every question gets the same message until it is fixed.
        print(f"warning: {e}", file=sys.stderr)
    return assistant


def serve(config: Config, host: str = "127.0.0.1", port: int = 7860, auth: str | None = None,
          no_auth: bool = False) -> int:
    """Run the chat on host:port until interrupted; 1 on a setup error, 2 on an unsafe setup."""
    try:
        credentials = check_exposure(host, auth, no_auth)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    assistant = open_assistant(config)
    if assistant is None:
        return 1

    app = create_app(assistant)
    # One llama.cpp model answers for every session and uses all the cores, so answers queue
    # one at a time (the queue shows users their place) rather than run side by side slower.
    app.queue(default_concurrency_limit=1, max_size=64)
    print(f"Chat on http://{_url_host(host)}:{port} (Ctrl-C to stop)", file=sys.stderr)
    app.launch(server_name=host, server_port=port, share=False, auth=credentials,
               inbrowser=False, show_error=False, quiet=True, footer_links=["api"],
               ssr_mode=False, theme=theme())
    return 0


def theme():
    """Gradio's default look with fonts it ships whole, so nothing is fetched from the web."""
    import gradio as gr
    from gradio.themes.utils.fonts import LocalFont

    # The default theme's semibold files hold a few dozen glyphs in this Gradio: bold text came
    # out in two typefaces. Regular and bold are complete; semibold asks resolve to bold.
    return gr.themes.Default(
        font=[LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "sans-serif"],
        font_mono=[LocalFont("IBM Plex Mono", weights=(400, 700)), "ui-monospace", "monospace"],
    )


def check_exposure(host: str, auth: str | None, no_auth: bool) -> tuple[str, str] | None:
    """The (user, password) to require, or None; ValueError for a setup that is unsafe."""
    credentials = None
    if auth is not None:
        user, sep, password = auth.partition(":")
        if not (sep and user.strip() and password):
            raise ValueError("--auth must be user:password, both non-empty, e.g. --auth "
                             "reader:a-long-passphrase.")
        credentials = (user.strip(), password)
    if credentials is None and not no_auth and not is_loopback(host):
        raise ValueError(
            f"--host {host} lets other machines reach the chat; give it a password with "
            "--auth user:password, or pass --no-auth to serve it open knowingly. "
            "Use --host 127.0.0.1 (the default) for this machine only."
        )
    return credentials


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable only from this machine (unknown names count as not)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
