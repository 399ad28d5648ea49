"""The timeline endpoint's work, apart from the API's protocol (ui/api.py)."""
from __future__ import annotations

import json
import threading

from fastapi import Request

from qa.errors import InputError


async def topic_of(request: Request) -> str:
    """The topic a request sends as {"topic": "..."}."""
    try:
        topic = json.loads(await request.body())["topic"]
    except (ValueError, TypeError, KeyError):
        topic = None
    if not isinstance(topic, str):
        raise InputError('Send JSON with the topic as a string: {"topic": "..."}.')
    return topic


def route(assistant, lock: threading.Lock, failure, wait_for):
    """The handler of POST /v1/timeline: the topic's events once `wait_for(lock)` lets it in
    (one model and one index serve answers and timelines), or the API's error (`failure`)."""
    import anyio

    async def dated_events(request: Request) -> dict:
        try:
            topic = await topic_of(request)
            await wait_for(lock)
            try:
                found = await anyio.to_thread.run_sync(assistant.timeline, topic)
            finally:
                lock.release()
        except Exception as e:
            raise failure(e) from None
        return {"object": "timeline", "topic": topic, "events": [e.to_dict() for e in found]}

    return dated_events
