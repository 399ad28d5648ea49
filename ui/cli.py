"""The chat's commands for `qa` (registered through the `qa.commands` entry point)."""
from __future__ import annotations

import os


def register(sub, add_settings) -> None:
    p = sub.add_parser("chat", help="serve the chat UI (default http://127.0.0.1:7860)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--auth", default=os.environ.get("QA_AUTH") or None,
                   help="user:password required to use the chat (or QA_AUTH, which `ps` "
                        "does not show)")
    p.add_argument("--no-auth", action="store_true",
                   help="serve a non-loopback host without a password, knowingly")
    add_settings(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve", help="serve an OpenAI-compatible API (default "
                                     "http://127.0.0.1:8000/v1)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--key", default=os.environ.get("QA_SERVE_KEY") or None,
                   help="the API key clients must send (or QA_SERVE_KEY); required on any "
                        "address but loopback")
    add_settings(p)
    p.set_defaults(func=cmd_serve)


def cmd_chat(args) -> int:
    from qa.cli import config_from
    from ui.app import serve

    return serve(config_from(args), host=args.host, port=args.port, auth=args.auth,
                 no_auth=args.no_auth)


def cmd_serve(args) -> int:
    from qa.cli import config_from
    from ui.api import serve

    return serve(config_from(args), host=args.host, port=args.port, key=args.key)
