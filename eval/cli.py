"""`qa eval` and `qa bench` (registered through the `qa.commands` entry point)."""
from __future__ import annotations


def register(sub, add_settings) -> None:
    p = sub.add_parser("eval", help="score the system on a Q&A set (see eval/README.md)")
    p.add_argument("--qa", default=None, help="JSONL Q&A file (default eval/qa.jsonl)")
    p.add_argument("--out", default=None, help="output folder (default eval/runs/<timestamp>/)")
    p.add_argument("--baseline", action="store_true",
                   help="also run the plain llama-index CitationQueryEngine and compare")
    p.add_argument("--limit", type=int, default=None, help="only the first N questions")
    add_settings(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("ablate", help="each feature of the decision: its weight, and what "
                                      "leaving it out costs each set held out")
    p.add_argument("run_dirs", nargs="+", help="`qa eval` output folders, one per question set")
    add_settings(p)
    p.set_defaults(func=cmd_ablate)

    p = sub.add_parser("fit", help="fit the decision to keep or cut claims on `qa eval` runs, "
                                   "one a question set; score each set fitted without it")
    p.add_argument("run_dirs", nargs="+", help="`qa eval` output folders, one per question set")
    p.add_argument("--dry-run", action="store_true", help="report only; write no decision")
    add_settings(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("bench", help="measure indexing, retrieval and answering speed")
    p.add_argument("--out", default=None, help="output folder (default bench/runs/<timestamp>/)")
    p.add_argument("--quick", action="store_true", help="a small run (a few minutes)")
    p.add_argument("--scale", action="store_true",
                   help="answer the same questions at 10, 100 and 300 articles (about an hour)")
    p.add_argument("--limit", type=int, default=None,
                   help="answer only the first N eval questions (default: all)")
    add_settings(p)
    p.set_defaults(func=cmd_bench)


def cmd_eval(args) -> int:
    from eval.run import run
    from qa.cli import config_from

    return run(config_from(args), qa_file=args.qa, out=args.out, baseline=args.baseline,
               limit=args.limit)


def cmd_ablate(args) -> int:
    from eval.ablation import run
    from qa.cli import config_from

    return run(config_from(args), args.run_dirs)


def cmd_fit(args) -> int:
    from eval.fit import run
    from qa.cli import config_from

    return run(config_from(args), args.run_dirs, write=not args.dry_run)


def cmd_bench(args) -> int:
    from eval.bench import run
    from qa.cli import config_from

    return run(config_from(args), out=args.out, quick=args.quick, limit=args.limit,
               scale=args.scale)
