"""The `qa` command. It owns `index`, `ask`, `articles` and `remove`; other packages add theirs
(the chat, the API server, eval, bench) through the `qa.commands` entry point, as plugins do in
simonw/llm, so that this package imports none of them."""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
from importlib.metadata import entry_points

from qa import config as settings
from qa.config import Config
from qa.errors import QAError


def add_settings(parser: argparse.ArgumentParser) -> None:
    """A flag for every setting that has one; each also reads from QA_<NAME>."""
    group = parser.add_argument_group("settings (each also read from QA_<NAME>)")
    for f in settings.settings():
        if f.metadata["flag"]:
            kind = {"int": int, "float": float}.get(settings.type_name(f), str)
            group.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=kind,
                               default=None, help=f.metadata["help"])


def config_from(args) -> Config:
    return Config.load(**{f.name: getattr(args, f.name, None) for f in settings.settings()
                          if f.metadata["flag"]})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa", description="Answers questions from news articles, citing the passages.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="index articles (.txt, .md, .html, .pdf files or folders)")
    p.add_argument("paths", nargs="*", help="files or folders (default: seeds/)")
    p.add_argument("--no-prune", action="store_true",
                   help="keep articles that were removed from an indexed folder")
    p.add_argument("--no-read", action="store_true",
                   help="embed only: the model reads the new passages at the next `qa index`, "
                        "or when a question first needs them")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="answer a question (no question: ask interactively)")
    p.add_argument("question", nargs="*", help="the question; omit it for an interactive loop")
    p.add_argument("--json", action="store_true", help="print one JSON object, no streaming")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("timeline", help="the dated events the articles report about a topic")
    p.add_argument("topic", nargs="+", help="what the events are about, e.g. the bushfires")
    p.add_argument("--json", action="store_true", help="one JSON object per event")
    p.set_defaults(func=cmd_timeline)

    p = sub.add_parser("articles", help="list the indexed articles")
    p.add_argument("--json", action="store_true", help="one JSON object per article")
    p.set_defaults(func=cmd_articles)

    p = sub.add_parser("remove", help="remove articles from the index by file name or path")
    p.add_argument("names", nargs="+")
    p.set_defaults(func=cmd_remove)

    for command in sub.choices.values():
        add_settings(command)
    for plugin in entry_points(group="qa.commands"):
        plugin.load()(sub, add_settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


def cmd_index(args) -> int:
    from qa.assistant import Assistant

    assistant = Assistant(config_from(args), require_index=False)
    print("indexing…", file=sys.stderr)
    report = assistant.index(args.paths or None, prune=not args.no_prune, progress=True,
                             read=not args.no_read)
    for note in report.skipped:
        print(f"skipped {note}", file=sys.stderr)
    print(report.summary())
    return 0 if report.articles or not report.skipped else 1


def cmd_ask(args) -> int:
    from qa.assistant import Assistant

    question = " ".join(args.question)
    if args.question and not question.strip():
        from qa.errors import InputError

        raise InputError("The question is empty. Type a question about the articles.")
    assistant = Assistant(config_from(args))
    if args.json:
        print(json.dumps(assistant.ask(question).to_dict(), ensure_ascii=False, indent=2))
        return 0
    if question:
        _print_answer(assistant, question)
        return 0
    return _loop(assistant)


def cmd_timeline(args) -> int:
    from qa.assistant import Assistant

    events = Assistant(config_from(args)).timeline(" ".join(args.topic))
    if args.json:
        for e in events:
            print(json.dumps(e.to_dict(), ensure_ascii=False))
        return 0
    if not events:
        print("The articles give no dated events about this.")
        return 0
    sources = {}
    for e in events:
        marks = "".join(f"[{c.number}]" for c in e.citations)
        print(f"{e.when:>18}  {textwrap.shorten(e.text, 160)} {marks}")
        if e.differ:
            print(f"{'':>18}  reports differ: {e.differ}")
        for c in e.citations:
            sources.setdefault(c.number, c)
    print()
    for n, c in sorted(sources.items()):
        about = ", ".join(x for x in (c.outlet, c.date) if x)
        print(f"[{n}] {c.title}{f' ({about})' if about else ''} — {c.source}")
    return 0


def cmd_articles(args) -> int:
    from dataclasses import asdict

    from qa.assistant import Assistant

    for a in Assistant(config_from(args)).articles():
        if args.json:
            print(json.dumps(asdict(a), ensure_ascii=False))
        else:
            about = ", ".join(x for x in (a.outlet, a.date) if x)
            print(f"{a.source}\t{a.title}{f' ({about})' if about else ''}\t{a.passages} passages")
    return 0


def cmd_remove(args) -> int:
    from qa.assistant import Assistant

    removed = Assistant(config_from(args)).remove(args.names)
    print(f"removed {removed} passages")
    return 0 if removed else 1


def _loop(assistant) -> int:
    print(f"Ask about the {len(assistant.articles())} indexed articles (model: "
          f"{assistant.model}). Empty line or Ctrl-D to quit.")
    history = []
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            print()
            return 0
        if not question or question.lower() in ("exit", "quit"):
            return 0
        try:
            answer = _print_answer(assistant, question, history)
            history.append((question, answer.text))
        except QAError as e:  # a bad question must not end the session
            print(f"error: {e}", file=sys.stderr)


def _print_answer(assistant, question: str, history=None):
    from qa.types import Answer

    answer, streamed = None, []
    for item in assistant.stream(question, history or None):
        if isinstance(item, Answer):
            answer = item
        else:
            streamed.append(item)
            print(item, end="", flush=True)
    print()
    if answer.text != "".join(streamed).strip():
        print(f"\nChecked: {answer.text}")
    if answer.disagreements:
        print("\nThe reports differ: " + "; ".join(
            f"{a.words} [{a.citation}]" for a in answer.disagreements))
    for c in answer.citations:
        about = ", ".join(x for x in (c.outlet, c.date) if x)
        print(f"\n[{c.number}] {c.title}{f' ({about})' if about else ''} — {c.source}, "
              f"characters {c.start}–{c.end}")
        body = " ".join(c.text.split())
        quote = " ".join(c.quote.split())
        if quote and quote in body:
            body = body.replace(quote, f">>> {quote} <<<", 1)
        print(textwrap.indent(textwrap.fill(body, 100), "    "))
    t = answer.timings
    print(f"\n({t.get('first_token_s', 0):.1f}s to the first words, {t.get('total_s', 0):.1f}s "
          "in all)", file=sys.stderr)
    return answer


if __name__ == "__main__":
    sys.exit(main())
