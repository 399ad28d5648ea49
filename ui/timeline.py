"""The timeline endpoint's work, apart from the API's protocol (ui/api.py)."""
from __future__ import annotations

import json
import threading

from fastapi import Request

from qa.errors import InputError, QAError


async def topic_of(request: Request) -> str:
    """The topic a request sends as {"topic": "..."}."""
    try:
        topic = json.loads(await request.body())["topic"]
    except (ValueError, TypeError, KeyError):
        topic = None
    if not isinstance(topic, str):
        raise InputError('Send JSON with the topic as a string: {"topic": "..."}.')
    return topic


def route(assistant, lock: threading.Lock, failure, wait_s: float):
    """The handler of POST /v1/timeline: the topic's events, or the API's error for `failure`."""
    import anyio

    async def dated_events(request: Request) -> dict:
        try:
            topic = await topic_of(request)
            found = await anyio.to_thread.run_sync(events, assistant, lock, topic, wait_s)
        except Exception as e:
            raise failure(e) from None
        return {"object": "timeline", "topic": topic, "events": found}

    return dated_events


def events(assistant, lock: threading.Lock, topic: str, wait_s: float) -> list[dict]:
    """The topic's dated events, once the answers queued before it are done (one model and
    one index serve both)."""
    if not lock.acquire(timeout=wait_s):
        raise QAError("The assistant is busy with other questions; try again in a minute.")
    try:
        return [e.to_dict() for e in assistant.timeline(topic)]
    finally:
        lock.release()
