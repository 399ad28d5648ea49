"""The OpenAI-compatible API: `create_api` builds it around an Assistant, `serve` runs it for
`qa serve`, so any chat client that speaks OpenAI's protocol can ask the indexed articles."""
from __future__ import annotations

import hmac
import json
import logging
import sys
import threading
import time
import uuid

import anyio
import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException

from qa.config import Config
from qa.errors import InputError, QAError
from qa.types import Answer
from ui import timeline
from ui.app import is_loopback, open_assistant

log = logging.getLogger(__name__)
MAX_BODY = 4 * 2**20  # a conversation is text: a larger body is a mistake or an attack
CHUNK = "chat.completion.chunk"
SHOWN = ("abstained", "searched", "timings", "disagreements")  # of an Answer, beside the text
WAIT_S = 300.0  # how long a request waits for the answers queued before it


class ApiError(Exception):
    """An error the client gets in OpenAI's format: {"error": {"message", "type", "code"}}."""

    def __init__(self, status: int, message: str, code: str, param: str | None = None,
                 kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": kind, "code": code, "param": param}}


def failure(e: Exception) -> ApiError:
    """The client's view of an exception: QAError messages are meant for users, others are not."""
    if isinstance(e, ApiError):
        return e
    if isinstance(e, InputError):
        return ApiError(400, str(e), "invalid_question", "messages")
    if isinstance(e, QAError):
        return ApiError(503, str(e), "unavailable", kind="server_error")
    log.error("answering failed", exc_info=e)  # the traceback stays in the server's log
    return ApiError(500, f"Something went wrong while answering ({type(e).__name__}); the "
                         "server's log has the details.", "internal_error", kind="server_error")


class ChatRequest(BaseModel):
    # Sampling settings (temperature, max_tokens, seed, ...) are accepted and ignored: the answer
    # is written and checked with the server's settings, so a client cannot loosen the checks.
    model_config = ConfigDict(extra="allow")
    messages: list[dict] = Field(min_length=1)
    stream: bool = False
    n: int = 1
    tools: list | None = None


def refuse_unsupported(req: ChatRequest) -> None:
    """A 400 for the parameters whose result the Assistant cannot give."""
    if req.n != 1:
        raise ApiError(400, "n must be 1: one checked answer is written per question.",
                       "unsupported_parameter", "n")
    if req.tools or req.model_extra.get("functions"):
        raise ApiError(400, "Tools are not supported: the assistant only answers from the "
                            "indexed articles.", "unsupported_parameter", "tools")


def text_of(content) -> str:
    """A message's text: a string, or the text parts of a list of parts (images are ignored)."""
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
    return content if isinstance(content, str) else ""


def conversation(messages: list[dict]) -> tuple[str, list[tuple[str, str]]]:
    """The question (the last message, the user's) and the earlier (question, answer) pairs."""
    if messages[-1].get("role") != "user":
        raise ApiError(400, 'The last message must be the question, with role "user".',
                       "invalid_messages", "messages")
    # System prompts are dropped: the answering rules are the product's, not the client's.
    pairs, question = [], None
    for m in messages[:-1]:
        if m.get("role") == "user":
            question = text_of(m.get("content"))
        elif m.get("role") == "assistant" and question is not None:
            pairs.append((question, text_of(m.get("content"))))
            question = None
    return text_of(messages[-1].get("content")), pairs


async def read_request(request: Request) -> ChatRequest:
    """The body as a ChatRequest, read up to MAX_BODY; a 4xx saying what is wrong otherwise."""
    if "json" not in request.headers.get("content-type", ""):
        # Also keeps web pages from driving the model with a form post (no CORS preflight).
        raise ApiError(415, "Send the request as JSON (Content-Type: application/json).",
                       "unsupported_media_type")
    body = b""
    async for part in request.stream():
        if len(body := body + part) > MAX_BODY:
            raise ApiError(413, f"The request is over {MAX_BODY // 2**20} MiB.", "too_large")
    try:
        req = ChatRequest.model_validate_json(body)
    except ValidationError as e:
        first = e.errors(include_input=False)[0]  # no input: it could echo anything back
        where = ".".join(map(str, first["loc"])) or "body"
        raise ApiError(400, f"Invalid request: {where}: {first['msg']}.", "invalid_request",
                       where) from None
    refuse_unsupported(req)
    return req


async def wait_for(lock: threading.Lock) -> None:
    """Take the Assistant's lock once the requests queued before are done, or a 503."""
    # Polled: waiting in a worker thread, requests could take all that the answer needs.
    deadline = time.monotonic() + WAIT_S
    while not lock.acquire(blocking=False):
        if time.monotonic() > deadline:
            raise ApiError(503, "The assistant is busy with other questions; try again in "
                                "a minute.", "busy", kind="server_error")
        await anyio.sleep(0.05)


class Turn:
    """One answer in progress; it holds the Assistant's lock until closed."""

    def __init__(self, lock: threading.Lock):
        self.first, self.stream, self._lock, self._open = None, None, lock, True

    @classmethod
    async def start(cls, assistant, lock: threading.Lock, question: str, history) -> Turn:
        """Wait for the Assistant and run it to its first piece, so a bad question is a 400."""
        await wait_for(lock)
        turn = cls(lock)
        try:  # whatever the Assistant raises, even on the call, the lock is released
            turn.stream = assistant.stream(question, history or None)
            turn.first = await anyio.to_thread.run_sync(next, turn.stream)
        except BaseException as e:
            await turn.aclose()
            raise failure(e) if isinstance(e, Exception) else e
        return turn

    def rest(self) -> Answer:
        """The checked answer, once written."""
        item = self.first
        while not isinstance(item, Answer):
            item = next(self.stream)
        return item

    def close(self) -> None:
        """Stop the Assistant (and so the model) and let the next request in."""
        if self._open:
            self._open = False
            try:
                self.stream and self.stream.close()
            finally:
                self._lock.release()

    async def aclose(self) -> None:
        # Shielded: a client that went away cancels the task, and the model must still stop.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.close)


def extras(answer: Answer, streamed: str | None = None) -> dict:
    """The fields beyond OpenAI's: the cited passages and how the answer was reached."""
    d = answer.to_dict()
    qa = {"text": d["answer"], **{k: d[k] for k in SHOWN}}
    if streamed is not None:
        # The checks can drop or change sentences after they streamed: show qa.text then.
        qa["replaces_stream"] = streamed.strip() != answer.text.strip()
    return {"citations": d["citations"], "qa": qa}


def envelope(kind: str, rid: str, model: str, choice: dict, **extra) -> dict:
    """A chat.completion or chat.completion.chunk with its one choice."""
    return {"id": rid, "object": kind, "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "logprobs": None, **choice}], **extra}


async def events(turn: Turn, model: str):
    """The answer as it is written, then the checked text and citations, then [DONE]."""
    rid, streamed = f"chatcmpl-{uuid.uuid4().hex}", ""

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        data = envelope(CHUNK, rid, model, {"delta": delta, "finish_reason": finish}, **extra)
        return f"data: {json.dumps(data)}\n\n"

    try:
        yield chunk({"role": "assistant", "content": ""})
        item = turn.first
        while not isinstance(item, Answer):
            streamed += item
            yield chunk({"content": item})
            item = await anyio.to_thread.run_sync(next, turn.stream)
        yield chunk({}, "stop", **extras(item, streamed))
        yield "data: [DONE]\n\n"
    except Exception as e:  # the status was sent: OpenAI's clients raise on an error event
        yield f"data: {json.dumps(failure(e).body)}\n\n"
    finally:
        # Also run when the client goes away: Starlette cancels this generator (or, cut off
        # between two events, CPython finalizes it as soon as the response is dropped).
        await turn.aclose()


def require_key(key: str):
    """A dependency refusing requests without `Authorization: Bearer <key>`."""
    expected = key.encode()

    async def check(request: Request) -> None:
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not sent.strip():
            raise ApiError(401, "This server needs an API key: send 'Authorization: Bearer "
                                "<key>'.", "missing_api_key")
        # Headers arrive as latin-1; compared in constant time so timing tells nothing.
        if not hmac.compare_digest(sent.strip().encode("latin-1"), expected):
            raise ApiError(401, "Incorrect API key.", "invalid_api_key")

    return check


async def error_response(_request, e: Exception) -> JSONResponse:
    """OpenAI's error format for ours and Starlette's (404, 405)."""
    # Async: refusing a request must not wait for a worker thread (all may be busy).
    if isinstance(e, HTTPException):
        e = ApiError(e.status_code, str(e.detail), str(e.detail).lower().replace(" ", "_"))
    headers = {"WWW-Authenticate": "Bearer"} if e.status == 401 else None
    return JSONResponse(e.body, status_code=e.status, headers=headers)


def create_api(assistant, key: str | None = None, model_name: str | None = None) -> FastAPI:
    """The API (a FastAPI app) over `assistant`, built but not served."""
    model, created, lock = model_name or assistant.model, int(time.time()), threading.Lock()
    # No /docs or /openapi.json: they would be reachable without the key.
    app = FastAPI(title="News Q&A", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(require_key(key))] if key else [])
    app.add_exception_handler(ApiError, error_response)
    app.add_exception_handler(HTTPException, error_response)

    @app.get("/v1/models")
    async def models() -> dict:
        return {"object": "list",
                "data": [{"id": model, "object": "model", "created": created, "owned_by": "qa"}]}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        req = await read_request(request)
        question, history = conversation(req.messages)
        turn = await Turn.start(assistant, lock, question, history)  # whatever `model` says
        if req.stream:
            return StreamingResponse(events(turn, model), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        try:
            answer = await anyio.to_thread.run_sync(turn.rest)
            message = {"role": "assistant", "content": answer.text}
            return envelope("chat.completion", f"chatcmpl-{uuid.uuid4().hex}", model,
                            {"message": message, "finish_reason": "stop"}, **extras(answer))
        except Exception as e:
            raise failure(e) from None
        finally:
            await turn.aclose()

    app.post("/v1/timeline")(timeline.route(assistant, lock, failure, wait_for))

    return app


def check_key(host: str, key: str | None) -> str | None:
    """The key requests must send, or None; ValueError for a setup that is unsafe."""
    if key is not None and not key.strip():
        raise ValueError("--key is empty; give a key, e.g. a long random string.")
    if key is None and not is_loopback(host):
        raise ValueError(f"--host {host} lets other machines reach the API; give it a key with "
                         "--key or QA_SERVE_KEY (which `ps` does not show). Use --host "
                         "127.0.0.1 (the default) for this machine only.")
    return key.strip() if key else None


def serve(config: Config, host="127.0.0.1", port=8000, key: str | None = None) -> int:
    """Run the API on host:port until interrupted; 1 on a setup error, 2 on an unsafe setup."""
    try:
        key = check_key(host, key)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    assistant = open_assistant(config)  # a failed warm-up: each question gets it as a 503
    if assistant is None:
        return 1
    print(f"OpenAI-compatible API on http://{f'[{host}]' if ':' in host else host}:{port}/v1, "
          f"model {assistant.model}"
          f"{', key required' if key else ''} (Ctrl-C to stop)", file=sys.stderr)
    uvicorn.run(create_api(assistant, key), host=host, port=port, server_header=False)
    return 0
