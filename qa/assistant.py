"""The public API: index articles, then ask questions and get cited answers."""
from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

from qa import citations as C
from qa import prompts
from qa.config import Config
from qa.errors import IndexMissingError, InputError, QAError
from qa.types import Answer, IndexReport, Passage

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "seeds"


class Assistant:
    """Answers questions from the indexed articles, citing a passage for every claim.

    `Assistant()` opens the existing index (embedded Chroma under `.qa/` by default) and fails
    with a clear message when there is none; `Assistant.build(paths)` indexes first.
    Keyword overrides are any `Config` field: data_dir, chroma_url, llm, model, top_k, ...
    """

    def __init__(self, config: Config | None = None, *, require_index: bool = True,
                 language_model=None, embed_model=None, **overrides):
        """`language_model` and `embed_model` (llama-index objects) replace the configured ones."""
        from index.store import Store

        self.config = config or Config.load(**overrides)
        self.store = Store(self.config.data_dir, self.config.chroma_url, self.config.collection)
        if require_index and self.store.count() == 0:
            raise IndexMissingError(self.store.where)
        self._retriever = None
        self._llm = language_model
        self._embedder = embed_model

    @classmethod
    def build(cls, paths=None, config: Config | None = None, **kwargs) -> "Assistant":
        """An Assistant over `paths` (default: the seed articles), indexed incrementally."""
        assistant = cls(config, require_index=False, **kwargs)
        assistant.index(paths)
        return assistant

    # Indexing -------------------------------------------------------------------------------
    @property
    def embedder(self):
        if self._embedder is None:
            from index.embed import load_embedder

            self._embedder = load_embedder(self.config.embed_batch_size)
        return self._embedder

    def index(self, paths=None, prune: bool = True, progress: bool = False) -> IndexReport:
        from index.build import index_paths

        report = index_paths(
            [str(p) for p in (paths or [DEFAULT_CORPUS])], self.store, self._embed_texts,
            self.config.chunk_size, self.config.chunk_overlap, self.config.embed_batch_size,
            prune=prune, progress=progress, max_bytes=self.config.max_file_mb * 2**20,
        )
        if self._retriever is not None:
            self._retriever.refresh()
        return report

    def _embed_texts(self, texts: list[str]) -> list[list[float]]:
        # llama-index hands sentence-transformers embed_batch_size texts at a time, which
        # defeats its sorting of a call's texts by length (less padding); one call per indexing
        # batch is faster (README: "What it costs"). Same model, same normalised vectors.
        model = getattr(self.embedder, "_model", None)
        if not hasattr(model, "encode"):
            return self.embedder.get_text_embedding_batch(texts)
        return model.encode(texts, batch_size=self.config.embed_batch_size,
                            normalize_embeddings=True).tolist()

    def articles(self) -> list[dict]:
        """The indexed articles: source, title and passage count."""
        seen: dict[str, dict] = {}
        for p in self.store.passages():
            entry = seen.setdefault(p.path, {"source": p.source, "title": p.title, "passages": 0})
            entry["passages"] += 1
        return sorted(seen.values(), key=lambda a: a["source"])

    # Answering ------------------------------------------------------------------------------
    @property
    def retriever(self):
        if self._retriever is None:
            from qa.retrieve import Retriever

            self._retriever = Retriever(self.store, self.embedder, self.config.top_k,
                                        self.config.candidates)
        return self._retriever

    @property
    def llm(self):
        if self._llm is None:
            from qa.llm import load_llm

            self._llm = load_llm(self.config)
        return self._llm

    @property
    def model(self) -> str:
        from qa.llm import model_name

        return model_name(self.config)

    def warm(self) -> None:
        """Load the models and prefill the fixed prompt prefix now, not on the first question."""
        self.retriever.retrieve("warm up")
        if self.config.llm == "local":
            # llama.cpp keeps the longest common prefix of the last prompt in its KV cache, so
            # evaluating the instructions and worked example once makes every question cheaper.
            messages = self._messages("warm up", [])
            self._start(messages)
            for _ in self._generate_messages(messages):
                break

    def retrieve(self, question: str) -> list[Passage]:
        """The passages the model reads for `question`, best first."""
        return self._context(self.check_question(question))

    def _context(self, question: str) -> list[Passage]:
        passages = self.retriever.retrieve(question)
        if self.config.context_chars and passages:
            from qa.context import select

            passages = select(question, passages, self.embedder, self.config.context_chars)
        return passages

    def ask(self, question: str, history=None) -> Answer:
        answer = None
        for item in self.stream(question, history):
            if isinstance(item, Answer):
                answer = item
        return answer

    def condense(self, question: str, history) -> str:
        """A follow-up rewritten as a standalone question, using the conversation so far.

        `history` is a list of (question, answer) pairs, oldest first.
        """
        from llama_index.core.llms import ChatMessage

        turns = [(q, C.CITE.sub("", a).strip()) for q, a in list(history)[-3:]]
        if not turns:
            return question
        shown = "\n".join(f"User: {q}\nAssistant: {a}" for q, a in turns)
        messages = [
            ChatMessage(role="system", content=prompts.CONDENSE),
            ChatMessage(role="user", content=prompts.CONDENSE_EXAMPLE[0]),
            ChatMessage(role="assistant", content=prompts.CONDENSE_EXAMPLE[1]),
            ChatMessage(role="user", content=prompts.CONDENSE_USER.format(
                history=shown, question=question)),
        ]
        rewritten = "".join(self._generate_messages(messages)).strip().splitlines()
        rewritten = rewritten[0].strip() if rewritten else ""
        # A rewrite that is not a question (the model answered instead) or rambles is worse
        # than the question as asked.
        if not rewritten.endswith("?") or len(rewritten) > 3 * len(question) + 200:
            return question
        return rewritten

    def stream(self, question: str, history=None) -> Iterator[str | Answer]:
        """Yield the answer's text as it is generated, then the final `Answer`.

        With `history` (a list of (question, answer) pairs) a follow-up is first rewritten into
        a standalone question; `Answer.searched` shows it. The final text can differ from the
        streamed one where checks removed or re-cited a sentence; show `Answer.text` in the end.
        """
        question = self.check_question(question)
        t0 = time.perf_counter()
        searched = self.condense(question, history) if history else question
        passages = self._context(searched)
        timings = {"retrieve_s": time.perf_counter() - t0}
        if not passages:
            raise IndexMissingError(self.store.where)
        if max(p.dense for p in passages) < self.config.min_similarity:
            # Nothing is even about the question: refuse without spending the LLM.
            timings["first_token_s"] = timings["total_s"] = time.perf_counter() - t0
            yield prompts.REFUSAL
            yield self._answer(question, prompts.REFUSAL, True, [], timings, passages, searched)
            return

        messages = self._messages(searched, passages)
        self._start(messages)
        if self._refusal_likely(messages):
            timings["first_token_s"] = timings["total_s"] = time.perf_counter() - t0
            yield prompts.REFUSAL
            yield self._answer(question, prompts.REFUSAL, True, [], timings, passages, searched)
            return
        renumber = C.Renumberer(len(passages))
        raw = []
        for piece in self._reply(messages, searched, passages):
            raw.append(piece)
            out = renumber.feed(piece)
            if out:
                timings.setdefault("first_token_s", time.perf_counter() - t0)
                yield out
        tail = renumber.flush()
        if tail:
            yield tail
        timings.setdefault("first_token_s", time.perf_counter() - t0)
        text, abstained = self._check("".join(raw), passages, searched)
        final = C.Renumberer(len(passages))
        text = C.tidy(final.apply(text))
        timings["total_s"] = time.perf_counter() - t0
        cites = [] if abstained else C.build_citations(text, final.order, passages)
        yield self._answer(question, text, abstained, cites, timings, passages, searched)

    # Internals ------------------------------------------------------------------------------
    def check_question(self, question) -> str:
        if not isinstance(question, str) or not question.strip():
            raise InputError("The question is empty. Type a question about the articles.")
        question = " ".join(question.split())
        if len(question) > self.config.max_question_chars:
            raise InputError(
                f"The question is {len(question):,} characters; the limit is "
                f"{self.config.max_question_chars:,}. Shorten it, or raise --max-question-chars "
                "(QA_MAX_QUESTION_CHARS)."
            )
        return question

    def _messages(self, question: str, passages: list[Passage]):
        from llama_index.core.llms import ChatMessage

        messages = [ChatMessage(role="system", content=prompts.SYSTEM)]
        for user, assistant in prompts.EXAMPLE:
            messages += [ChatMessage(role="user", content=user),
                         ChatMessage(role="assistant", content=assistant)]
        shown = "\n\n".join(
            prompts.PASSAGE.format(n=i, title=_quoted(prompts.short_title(p.title)),
                                   text=_quoted(p.text.strip()))
            for i, p in enumerate(passages, start=1)
        )
        messages.append(ChatMessage(role="user", content=prompts.QUESTION.format(
            passages=shown, question=question)))
        return messages

    def _refusal_likely(self, messages) -> bool:
        """Whether the local model gives its refusal a real chance, even if not the best one.

        A small model asked about a near-miss often answers with a related fact, but its doubt
        shows in the probability it gives "The articles do not say." (README: "Refusals").
        """
        if self.config.llm != "local" or self.config.refusal_threshold >= 1:
            return False
        from qa.llm import reply_logprob

        logprob = reply_logprob(self.llm, messages, prompts.REFUSAL)
        return logprob is not None and math.exp(logprob) >= self.config.refusal_threshold

    def _reply(self, messages, question: str, passages: list[Passage]) -> Iterator[str]:
        """The model's reply as generated; a refusal the passages seem to contradict is retried.

        The small model refuses some questions whose answer is in front of it (README:
        "Refusals"). When the shown passages mention every content word of the question, a
        refusal is held back and the model is asked to go on from prompts.RETRY instead; the
        checks after generation then keep only what the passages state.
        """
        held = []
        for piece in self._generate_messages(messages):
            if held is not None:
                held.append(piece)
                if prompts.REFUSAL.startswith("".join(held).lstrip()):
                    continue
                yield from held
                held = None
                continue
            yield piece
        if held is None:
            return
        text = "".join(held)
        if not (self.config.llm == "local" and is_refusal(text)
                and _mentions_all(question, passages)):
            yield from held
            return
        from qa.llm import chatml

        # The prompt is still in llama.cpp's cache: the retry reads only the few new tokens.
        yield prompts.RETRY
        for chunk in self.llm.stream_complete(chatml(messages) + prompts.RETRY, formatted=True):
            if chunk.delta:
                yield chunk.delta

    def _start(self, messages) -> None:
        """Have the local model read an answer prompt on from its fixed instructions and example."""
        if self.config.llm == "local":
            from qa.llm import start_after

            start_after(self.llm, messages, 1 + 2 * len(prompts.EXAMPLE))

    def _generate_messages(self, messages) -> Iterator[str]:
        try:
            for chunk in self.llm.stream_chat(messages):
                if chunk.delta:
                    yield chunk.delta
        except QAError:
            raise
        except Exception as e:
            if self.config.llm == "openai":
                from qa.llm import unavailable

                raise unavailable(self.config, e) from None
            raise

    def _check(self, text: str, passages: list[Passage], question: str = "") -> tuple[str, bool]:
        """(text, abstained) after the refusal and grounding checks; citations keep the
        passage numbers of the prompt.

        A sentence must be stated by the passages it cites (see `_backs`): one they do not state
        is re-cited to the passage that states it best, one left uncited gets that passage too,
        and one that no passage states is dropped. An answer left with nothing is a refusal:
        the model must not be the only guard. `question` names the things the answer may
        mention without a source saying them.
        """
        text = C.normalize(text, len(passages))
        if is_refusal(text):
            return prompts.REFUSAL, True
        given = C.content_words(question)
        # A name the question used is no invention where the passages know it; one they never
        # mention ("What did <someone absent> say?") must not be put to them.
        known = _known(question, passages)
        kept = []
        for sent in _claims(text):
            body = C.CITE.sub("", sent).strip()
            cited = list(dict.fromkeys(C.cited_numbers(sent)))
            sources = _sources(body, cited, passages, known, given)
            if sources:
                kept.append(_append_cite(body, *sources))
            elif not cited and len(C.content_words(body)) < 3:
                kept.append(body)  # a connective like "The articles differ." needs no source
        answer = " ".join(kept)
        # "Hodeidah is the port [1]." names the port although its name starts the sentence.
        proper = C.proper_names(" ".join(f"{p.title}. {p.text}" for p in passages))
        if (not any(C.cited_numbers(s) for s in kept)
                or not C.gives_asked_kind(question, answer, proper)
                or not _names_the_thing(question, kept, passages, proper)):
            return prompts.REFUSAL, True
        return answer, False

    def _answer(self, question, text, abstained, cites, timings, passages, searched) -> Answer:
        return Answer(question=question, text=text, abstained=abstained, citations=cites,
                      timings={k: round(v, 3) for k, v in timings.items()}, model=self.model,
                      passages=passages, searched=searched)


_REFUSAL_HINTS = ("do not say", "does not say", "don't say", "doesn't say", "do not mention",
                  "does not mention", "not mentioned", "no information", "do not contain",
                  "does not contain", "do not provide", "does not provide", "not specified",
                  "do not specify", "does not specify", "cannot answer", "can't answer",
                  "not provided", "not stated", "no mention", "none of the sources",
                  "none of the articles", "none of the passages", "do not name",
                  "does not name", "do not give", "does not give", "do not identify",
                  "does not identify", "i don't know", "i do not know")


# Article text can neither close a passage's quotes nor open a chat turn of its own.
_ESCAPES = {'"""': "'''", "<|im_start|>": "im_start", "<|im_end|>": "im_end",
            "<|endoftext|>": "endoftext"}


def _quoted(text: str) -> str:
    for token, harmless in _ESCAPES.items():
        text = text.replace(token, harmless)
    return text


# Words of a question's form ("how many"), not of what it is about.
_FORM = C.content_words("many much")


def _known(question: str, passages: list[Passage]) -> set[str]:
    """The question's content words that the passages (titles included) mention."""
    shown = C.content_words(" ".join(f"{p.title} {p.text}" for p in passages))
    return {w for w in C.content_words(question) if C.mentioned(w, shown)}


def _mentions_all(question: str, passages: list[Passage]) -> bool:
    """Whether the passages mention every content word of the question."""
    return C.content_words(question) - _FORM <= _known(question, passages)


def is_refusal(text: str) -> bool:
    """Whether an answer's first sentence says the articles lack the answer."""
    first = (C.sentences(text) or [""])[0].lower()
    return any(h in first for h in _REFUSAL_HINTS) or not text.strip()


def _backs(sentence: str, passages: list[Passage], known: set[str] = frozenset(),
           given: set[str] = frozenset(), floor: float = 0.5) -> bool:
    """Whether the passages state the sentence: its numbers (each next to the same words), its
    names (other than the `known` ones the question brought), quotations and speakers, and most
    of its content words (the question's `given` ones half)."""
    text = " ".join(p.text for p in passages)
    if C.support(sentence, text, given) < floor:
        return False
    # The model reads each passage under its article's title, so may name or quote that too.
    titled = " ".join(f"{p.title}\n{p.text}" for p in passages)
    vocabulary = C.content_words(titled)
    if any(not C.mentioned(n, vocabulary) for n in C.names(sentence) - known):
        return False
    plain = C.plain(titled)
    if any(C.plain(q) not in plain for q in C.quotations(sentence)):
        return False
    # Who said it is a claim too: "the defense minister said" where the passages have no
    # defense minister puts real words in an invented mouth.
    if any(not C.says_phrase(titled, role) for role in C.speaker_roles(sentence)):
        return False
    return all(C.number_in_context(n, sentence, text) for n in C.numbers(sentence))


def _sources(sentence: str, cited: list[int], passages: list[Passage],
             known: set[str], given: set[str] = frozenset()) -> list[int]:
    """The passages a sentence should cite: the ones it cites if they state it (unless another
    states it clearly better), else the one that states it best, else none."""
    backing = {i: C.support(sentence, p.text, given) for i, p in enumerate(passages, start=1)
               if _backs(sentence, [p], known, given)}
    best = max(backing, key=lambda i: (backing[i], -i), default=None)
    if cited and _backs(sentence, [passages[n - 1] for n in cited], known, given):
        # A cite must point at the passage the claim came from, not one sharing half its words.
        if best is None or len(cited) > 1 or backing[best] < backing.get(cited[0], 0) + 0.25:
            return cited
    return [best] if best else []


def _names_the_thing(question: str, claims: list[str], passages: list[Passage],
                     proper: set[str] = frozenset()) -> bool:
    """For "What is the name of the X?": whether a passage a claim cites gives X a name the
    question did not. A name from nearby ("Israel's killing of a commander") is no answer."""
    thing = C.named_thing(question)
    if thing is None:
        return True
    given = C.content_words(question)
    return any(C.names_it(name, thing, passages[n - 1].text)
               for claim in claims for n in C.cited_numbers(claim)
               for name in C.names(claim, proper) if not C.mentioned(name, given))


def _claims(text: str) -> list[str]:
    """The answer's sentences; a quotation running over several stays one claim, as its last
    sentence alone would not show who said it."""
    out, open_quote = [], False
    for sent in C.sentences(text):
        if open_quote:
            out[-1] += " " + sent
        else:
            out.append(sent)
        open_quote ^= (sent.count('"') + sent.count("“") + sent.count("”")) % 2 == 1
    return out


def _append_cite(sentence: str, *numbers: int) -> str:
    stripped, cites = sentence.rstrip(), "".join(f"[{n}]" for n in numbers)
    if stripped and stripped[-1] in ".!?":
        return f"{stripped[:-1]} {cites}{stripped[-1]}"
    return f"{stripped} {cites}"
