"""HTML and chat text for the UI, built from answers. Everything from an article is escaped."""
from __future__ import annotations

import datetime
import re
from html import escape, unescape

from qa.types import Answer, ArticleInfo, Citation

# Chat messages are rendered as Markdown by Gradio; these marks let the history sent back to
# the Assistant drop errors and unfinished (stopped) answers and undo the refusals' label.
ERROR_MARK = "⚠ "
REFUSAL_MARK = "**No answer.** "
CURSOR = " ▍"  # ends a message while it streams; one left there was stopped
HEADER_TITLES = 10  # articles listed by name in the header; the rest are counted

CSS = """
.qa-panel { font-size: 0.95rem; line-height: 1.45; }
.qa-panel h1, .qa-panel h3, .qa-panel b, .qa-panel strong { font-weight: 600; }
.qa-panel h3 { margin: 0 0 0.5rem; font-size: 1.05rem; }
.qa-hint { color: var(--body-text-color-subdued); }
.qa-searched { margin: 0 0 0.75rem; padding: 0.4rem 0.6rem; border-radius: 6px;
  background: var(--background-fill-secondary); }
.qa-sources { list-style: none; margin: 0; padding: 0; }
.qa-source { margin: 0 0 0.9rem; padding: 0.6rem 0.75rem; border-radius: 8px;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-primary); }
.qa-source-head { display: flex; gap: 0.5rem; align-items: baseline; }
.qa-num { font-weight: 600; color: var(--color-accent); flex: none; }
.qa-title { font-weight: 600; }
.qa-meta { margin: 0.15rem 0 0.4rem; font-size: 0.85rem; color: var(--body-text-color-subdued); }
.qa-meta code { font-size: 0.85rem; }
.qa-passage { margin: 0; white-space: pre-wrap; font-size: 0.9rem; }
.qa-passage mark { background: #fde68a; color: #111; padding: 0 2px; border-radius: 3px; }
.qa-refusal { padding: 0.6rem 0.75rem; border-radius: 8px; border: 1px solid #f59e0b;
  background: rgba(245, 158, 11, 0.12); }
.qa-differ { margin: 0 0 0.75rem; padding: 0.6rem 0.75rem; border-radius: 8px;
  border: 1px solid #8b5cf6; background: rgba(139, 92, 246, 0.1); }
.qa-differ ul { margin: 0.3rem 0 0; padding-left: 1.2rem; }
.qa-timeline { width: 100%; border-collapse: collapse; margin: 0 0 1rem; }
.qa-timeline td { padding: 0.4rem 0.5rem; vertical-align: top;
  border-bottom: 1px solid var(--border-color-primary); }
.qa-when { white-space: nowrap; font-weight: 600; }
.qa-error { padding: 0.6rem 0.75rem; border-radius: 8px; border: 1px solid #ef4444;
  background: rgba(239, 68, 68, 0.1); }
.qa-timing { margin-top: 0.5rem; font-size: 0.8rem; color: var(--body-text-color-subdued); }
.qa-header h1 { margin: 0 0 0.25rem; font-size: 1.5rem; }
.qa-header p { margin: 0.15rem 0; }
.qa-articles { margin: 0.25rem 0 0; padding-left: 1.2rem; font-size: 0.9rem; }
.qa-articles li { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.qa-articles code { font-size: 0.8rem; color: var(--body-text-color-subdued); margin-right: 0.3rem; }
.qa-notes { list-style: none; margin: 0; padding: 0; }
.qa-notes li, .qa-status > p { margin: 0 0 0.4rem; }
.qa-added { padding: 0.4rem 0.6rem; border-radius: 8px; border: 1px solid #22c55e;
  background: rgba(34, 197, 94, 0.1); }
"""


def header(articles: list[ArticleInfo], model: str) -> str:
    """What is indexed and which model answers."""
    items = "".join(
        f'<li title="{escape(a.title)}"><code>{escape(a.source)}</code> {escape(a.title)}</li>'
        for a in articles[:HEADER_TITLES]
    )
    more = len(articles) - HEADER_TITLES
    if more > 0:
        items += f'<li class="qa-hint">and {more} more</li>'
    count = f"{len(articles)} article{'s' if len(articles) != 1 else ''}"
    return (
        '<div class="qa-panel qa-header"><h1>Ask the news articles</h1>'
        f"<p>Answers come only from the <b>{count}</b> indexed here, with a numbered source "
        f"for every claim. Answered by <code>{escape(model)}</code>, running locally. Add or "
        "remove articles on the <b>Articles</b> tab.</p>"
        f'<ul class="qa-articles">{items}</ul></div>'
    )


def date_text(iso: str) -> str:
    """'2024-10-01' as '1 Oct 2024'; anything else as it is."""
    try:
        day = datetime.date.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    return f"{day.day} {day:%b %Y}"


def upload_report(added: list[ArticleInfo], problems: list[tuple[str, str]]) -> str:
    """What an upload did: each article added, and each file not added with the reason."""
    lines = [f'<li class="qa-added">Added <b>{escape(a.title or a.source)}</b> '
             f"(<code>{escape(a.source)}</code>, {_passages(a.passages)}).</li>" for a in added]
    lines += [f'<li class="qa-error"><b>{escape(name)}</b> was not added: '
              f"{escape(why.rstrip('.'))}. Nothing else in the collection changed.</li>"
              for name, why in problems]
    them = "them" if len(added) > 1 else "it"
    hint = (f'<p class="qa-hint">Ask about {them} on the Chat tab: the answers use {them} from '
            "now on.</p>" if added else "")
    return f'<div class="qa-panel qa-status"><ul class="qa-notes">{"".join(lines)}</ul>{hint}</div>'


def removed(article: ArticleInfo, passages: int) -> str:
    return (f'<div class="qa-panel qa-status"><p class="qa-added">Removed <b>'
            f"{escape(article.title or article.source)}</b> (<code>{escape(article.source)}</code>"
            f", {_passages(passages)}).</p></div>")


def article_note(text: str, error: bool = False) -> str:
    kind = "qa-error" if error else "qa-hint"
    return f'<div class="qa-panel qa-status"><p class="{kind}">{escape(text)}</p></div>'


def _passages(n: int) -> str:
    return f"{n} passage{'s' if n != 1 else ''}"


def _panel(state: str, hint: str) -> str:
    """The sources panel holding only a hint; `state` is its CSS modifier."""
    return f'<div class="qa-panel {state}"><h3>Sources</h3><p class="qa-hint">{hint}</p></div>'


def empty() -> str:
    return _panel("", "Each [n] in an answer is a numbered passage here: the article, the passage "
                      "with the cited sentence highlighted, and how relevant it was to the question.")


def pending() -> str:
    return _panel("qa-pending", "Reading the articles… the sources appear when the answer is "
                                "complete.")


def stopped() -> str:
    return _panel("qa-done", "Stopped: an unfinished answer is not checked, so it has no sources.")


def failed() -> str:
    return _panel("qa-done", "No sources: the question was not answered.")


def sources(answer: Answer) -> str:
    """The numbered passages behind an answer, or a clear refusal with none."""
    parts = ['<div class="qa-panel qa-done"><h3>Sources</h3>',
             f'<p class="qa-searched">Searched for: <q>{escape(answer.searched)}</q></p>']
    if answer.disagreements:
        parts.append(differ(answer))
    if answer.abstained or not answer.citations:
        parts.append('<p class="qa-refusal"><b>Refused:</b> the articles do not answer this '
                     "question, so nothing is cited.</p>")
    else:
        parts.append('<ol class="qa-sources">')
        parts += [_source(c) for c in answer.citations]
        parts.append("</ol>")
    t = answer.timings
    if "total_s" in t:
        parts.append(f'<p class="qa-timing">{t.get("first_token_s", 0):.1f} s to the first '
                     f'words, {t["total_s"]:.1f} s in all.</p>')
    parts.append("</div>")
    return "".join(parts)


def differ(answer: Answer) -> str:
    """The marked note beside an answer whose reports give different values."""
    items = "".join(f"<li><b>{escape(a.words)}</b> [{a.citation}]: "
                    f"{escape(', '.join(x for x in (a.outlet, date_text(a.date)) if x) or a.source)}"
                    "</li>" for a in answer.disagreements)
    return (f'<div class="qa-differ" role="note"><b>The reports differ.</b> Each value is '
            f"given with its source, newest report first:<ul>{items}</ul></div>")


def timeline(events: list, topic: str) -> str:
    """A topic's dated events, oldest first, each with its citations and sources."""
    if not events:
        return _panel("qa-done", f"The articles give no dated events about “{escape(topic)}”.")
    rows, cited = [], {}
    for e in events:
        marks = "".join(f"[{c.number}]" for c in e.citations)
        note = (f'<div class="qa-differ">The reports differ: {escape(e.differ)}</div>'
                if e.differ else "")
        rows.append(f'<tr><td class="qa-when">{escape(e.when)}</td><td>{escape(e.text)} '
                    f'<span class="qa-num">{marks}</span>{note}</td></tr>')
        for c in e.citations:
            cited.setdefault(c.number, c)
    sources = "".join(_source(c) for _, c in sorted(cited.items()))
    return (f'<div class="qa-panel qa-done"><h3>Timeline: {escape(topic)}</h3>'
            f'<table class="qa-timeline"><tbody>{"".join(rows)}</tbody></table>'
            f'<ol class="qa-sources">{sources}</ol></div>')


def _source(c: Citation) -> str:
    # Outlet and date say whose report a claim rests on; the file name finds it on disk.
    about = [escape(x) for x in (c.outlet, date_text(c.date)) if x]
    return (
        f'<li class="qa-source" id="qa-source-{c.number}">'
        f'<div class="qa-source-head"><span class="qa-num">[{c.number}]</span>'
        f'<span class="qa-title">{escape(c.title or c.source)}</span></div>'
        f'<div class="qa-meta">{"".join(f"<span>{x}</span> · " for x in about)}'
        f"<code>{escape(c.source)}</code> · relevance {c.score:.2f} · "
        f"characters {c.start:,}–{c.end:,}</div>"
        f'<blockquote class="qa-passage">{highlight(c.text.strip(), c.quote)}</blockquote></li>'
    )


def highlight(text: str, quote: str) -> str:
    """`text` escaped, with the first occurrence of `quote` in <mark>."""
    quote = quote.strip()
    m = None
    if quote:
        # Tolerate differences in whitespace: the quote may have been re-spaced.
        m = re.search(r"\s+".join(map(re.escape, quote.split())), text)
    if not m:
        return escape(text)
    return (f"{escape(text[:m.start()])}<mark>{escape(m.group())}</mark>"
            f"{escape(text[m.end():])}")


def chat_text(answer: Answer) -> str:
    """The final chat message: the checked answer; a refusal says so first."""
    text = escape(answer.text, quote=False)
    return REFUSAL_MARK + text if answer.abstained else text


def streamed_text(text: str) -> str:
    return escape(text, quote=False) + CURSOR


def error_text(message: str) -> str:
    return f"{ERROR_MARK}{escape(message, quote=False)}"


def history_pairs(messages: list) -> list[tuple[str, str]]:
    """(question, answer) pairs from chat messages, oldest first, less errors and stopped ones."""
    pairs, question = [], None
    for m in messages or []:
        role, text = m.get("role"), _text(m.get("content"))
        if role == "user":
            question = text
        elif role == "assistant" and question is not None:
            if not (text.startswith(ERROR_MARK) or text.endswith(CURSOR)):
                pairs.append((question, unescape(text.removeprefix(REFUSAL_MARK))))
            question = None
    return pairs


def _text(content) -> str:
    """Text of a message whose content is a string or a list of parts (Gradio's normal form)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text", ""))
    if isinstance(content, (list, tuple)):
        return "".join(_text(part) for part in content)
    return ""
