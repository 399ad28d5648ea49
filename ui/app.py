"""The Gradio chat: `create_app` builds it around an Assistant, `serve` runs it for `qa chat`."""
from __future__ import annotations

import ipaddress
import sys

from qa.config import Config
from qa.errors import QAError
from ui import render
from ui.chat import Chat

API_NAME = "ask"  # gradio_client: Client(url).predict("question", api_name="/ask")
# Questions the seed articles answer, by the article that answers them; offered only when that
# article is indexed, so another corpus is not shown questions it cannot answer.
SEED_EXAMPLES = {
    "001_0c16718d7dae18e4.txt": ["How many ballistic missiles did Iran fire at Israel?"],
    "000_c3c1596244da0a4c.txt": [
        "What did the Israeli military say its ground offensive in Lebanon would target?"],
    "002_d1d51d3d16951b55.txt": ["What did Israel strike in Yemen?", "Who is Naim Kassem?"],
}


def examples_for(articles: list[dict]) -> list[str]:
    """The example questions whose article is indexed."""
    indexed = {a["source"] for a in articles}
    return [q for source, qs in SEED_EXAMPLES.items() if source in indexed for q in qs]


def create_app(assistant, examples: list[str] | None = None):
    """The chat UI (a gr.Blocks) over `assistant`, built but not served."""
    import gradio as gr

    chat = Chat(assistant)
    articles = assistant.articles()
    if examples is None:
        examples = examples_for(articles)
    with gr.Blocks(title="News Q&A", fill_width=True, analytics_enabled=False) as app:
        gr.HTML(render.header(articles, assistant.model), css_template=render.CSS,
                js_on_load=None, elem_id="qa-header")
        sources = gr.HTML(render.empty(), css_template=render.CSS, js_on_load=None,
                          elem_id="qa-sources", render=False, padding=True, container=True)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                interface = gr.ChatInterface(
                    chat.respond,
                    chatbot=gr.Chatbot(
                        label="Chat", height=560, elem_id="qa-chat", layout="bubble",
                        buttons=["copy"], feedback_options=None,
                        placeholder="Ask a question about the indexed articles"
                                    + (", or pick one:" if examples else "."),
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
              sources, queue=False, api_visibility="private")
        gr.on([bot.clear, bot.undo], render.empty, None, sources, queue=False,
              api_visibility="private")
        interface.textbox.stop(render.stopped, None, sources, queue=False,
                               api_visibility="private")
    return app


def serve(config: Config, host: str = "127.0.0.1", port: int = 7860, auth: str | None = None,
          no_auth: bool = False) -> int:
    """Run the chat on host:port until interrupted; 1 on a setup error, 2 on an unsafe setup."""
    try:
        credentials = check_exposure(host, auth, no_auth)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from qa.assistant import Assistant

    try:
        assistant = Assistant(config)
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        assistant.warm()
    except QAError as e:
        # Served anyway: the chat shows the same message on every question until it is fixed.
        print(f"warning: {e}", file=sys.stderr)

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
