"""The `qa` command: index articles, ask questions."""
from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap

from qa.config import Config
from qa.errors import QAError


def _settings(parser: argparse.ArgumentParser) -> None:
    """Flags for Config fields; each also reads from QA_<NAME>."""
    g = parser.add_argument_group("settings (each also read from QA_<NAME>)")
    g.add_argument("--data-dir", help="where the embedded index lives (default .qa/)")
    g.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000")
    g.add_argument("--llm", choices=["local", "openai"], help="local llama.cpp (default) or openai")
    g.add_argument("--model", help="local: qwen2.5-coder-1.5b (default), qwen2.5-coder-0.5b or a "
                   "GGUF path; openai: the model name")
    g.add_argument("--api-base", help="OpenAI-compatible endpoint, e.g. http://host:8080/v1")
    g.add_argument("--timeout", type=float, help="seconds to wait for a hosted LLM (default 60)")
    g.add_argument("--top-k", type=int, help="passages retrieved (default 8)")
    g.add_argument("--context-chars", type=int,
                   help="characters of their best sentences the LLM reads (default 1600; "
                        "0: whole passages)")
    g.add_argument("--max-tokens", type=int, help="longest answer in tokens (default 200)")


def _config(args) -> Config:
    keys = ["data_dir", "chroma_url", "llm", "model", "api_base", "timeout", "top_k", "context_chars",
            "max_tokens"]
    return Config.load(**{k: getattr(args, k, None) for k in keys})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa", description="Answers questions from news articles, citing the passages.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="index articles (.txt, .md, .html files or folders)")
    p.add_argument("paths", nargs="*", help="files or folders (default: seeds/)")
    p.add_argument("--no-prune", action="store_true",
                   help="keep articles that were removed from an indexed folder")
    _settings(p)

    p = sub.add_parser("ask", help="answer a question (no question: ask interactively)")
    p.add_argument("question", nargs="*", help="the question; omit it for an interactive loop")
    p.add_argument("--json", action="store_true", help="print one JSON object, no streaming")
    _settings(p)

    p = sub.add_parser("chat", help="serve the chat UI (default http://127.0.0.1:7860)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--share", choices=["never"], default="never",
                   help="Gradio share links are never created")
    p.add_argument("--auth", default=os.environ.get("QA_AUTH") or None,
                   help="user:password required to use the chat (or QA_AUTH, which `ps` "
                        "does not show)")
    p.add_argument("--no-auth", action="store_true",
                   help="serve a non-loopback host without a password, knowingly")
    _settings(p)

    p = sub.add_parser("eval", help="score the system on a Q&A set (see eval/README.md)")
    p.add_argument("--qa", default=None, help="JSONL Q&A file (default eval/qa.jsonl)")
    p.add_argument("--out", default=None, help="output folder (default eval/runs/<timestamp>/)")
    p.add_argument("--baseline", action="store_true",
                   help="also run the plain llama-index CitationQueryEngine and compare")
    p.add_argument("--limit", type=int, default=None, help="only the first N questions")
    _settings(p)

    p = sub.add_parser("bench", help="measure indexing, retrieval and answering speed")
    p.add_argument("--out", default=None, help="output folder (default bench/runs/<timestamp>/)")
    p.add_argument("--quick", action="store_true", help="a small run (under two minutes)")
    p.add_argument("--limit", type=int, default=None,
                   help="answer only the first N eval questions (default: all)")
    _settings(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        commands = {"index": cmd_index, "ask": cmd_ask, "chat": cmd_chat, "eval": cmd_eval,
                    "bench": cmd_bench}
        return commands[args.command](args)
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


def cmd_index(args) -> int:
    from qa.assistant import Assistant

    assistant = Assistant(_config(args), require_index=False)
    report = assistant.index(args.paths or None, prune=not args.no_prune, progress=True)
    for note in report.skipped:
        print(f"skipped {note}", file=sys.stderr)
    print(report.summary())
    return 0 if report.articles or not report.skipped else 1


def cmd_ask(args) -> int:
    from qa.assistant import Assistant

    assistant = Assistant(_config(args))
    question = " ".join(args.question)
    if args.json:
        print(json.dumps(assistant.ask(question).to_dict(), ensure_ascii=False, indent=2))
        return 0
    if question:
        _print_answer(assistant, question)
        return 0
    return _loop(assistant)


def cmd_chat(args) -> int:
    from ui.app import serve

    return serve(_config(args), host=args.host, port=args.port, auth=args.auth,
                 no_auth=args.no_auth)


def cmd_eval(args) -> int:
    from eval.run import run

    return run(_config(args), qa_file=args.qa, out=args.out, baseline=args.baseline,
               limit=args.limit)


def cmd_bench(args) -> int:
    from eval.bench import run

    return run(_config(args), out=args.out, quick=args.quick, limit=args.limit)


def _loop(assistant) -> int:
    print(f"Ask about the {len(assistant.articles())} indexed articles "
          f"(model: {assistant.model}). Empty line or Ctrl-D to quit.")
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            print()
            return 0
        if not question or question.lower() in ("exit", "quit"):
            return 0
        try:
            _print_answer(assistant, question)
        except QAError as e:  # a bad question must not end the session
            print(f"error: {e}", file=sys.stderr)


def _print_answer(assistant, question: str) -> None:
    from qa.types import Answer

    streamed = []
    answer = None
    for item in assistant.stream(question):
        if isinstance(item, Answer):
            answer = item
        else:
            streamed.append(item)
            print(item, end="", flush=True)
    print()
    if answer.text != "".join(streamed).strip():
        print(f"\n(checked) {answer.text}")
    for c in answer.citations:
        print(f"\n[{c.number}] {c.source} — {c.title} (chars {c.start}-{c.end}, score {c.score:.2f})")
        body = c.text.strip()
        if c.quote and c.quote in body:
            body = body.replace(c.quote, f">>> {c.quote} <<<", 1)
        print(textwrap.indent(textwrap.fill(" ".join(body.split()), 100), "    "))
    t = answer.timings
    print(f"\n({t.get('first_token_s', 0):.1f}s to first token, {t.get('total_s', 0):.1f}s total)",
          file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
