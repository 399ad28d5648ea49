"""Grounding: what a claim states must be stated by the passage it cites, and must answer what
was asked. Each check names one general way a small model's answer goes wrong.

A claim is one sentence of an answer; its evidence is the cited passage. Checks return the
details they find unsupported (so one wrong detail can be cut out while the rest of the claim
stands) or a reason the claim is no answer at all.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from qa import text as T

_SAYS = re.compile(r"\b(?:said|says|say|told|tells|declared|stated|urged|warned|added|"
                   r"emphasi[sz]ed|stressed|announced|insisted|claimed|vowed|conceded?|"
                   r"reaffirmed)\b")


@dataclass
class Evidence:
    """The text a claim may rest on: its passage, and what the reader was shown with it."""

    text: str  # the passage
    header: str = ""  # the article's title, outlet and date as the model read them
    article: str = ""  # the rest of its article, for what a passage need not repeat

    @property
    def all(self) -> str:
        return f"{self.header}\n{self.text}"


# Details -------------------------------------------------------------------------------------
def unsupported_numbers(claim: str, evidence: Evidence, question: str = "",
                        reach: int = 6) -> list[str]:
    """Numbers the evidence does not give for the same thing.

    Catches a figure moved from one count to another ("7 soldiers" from "Oct. 7"): the claim's
    words next to the number (the noun it counts, within `reach` words) must stand next to it
    in the evidence too. A number the question gave is the question's, not a claim.
    """
    bad = []
    given = T.numbers(question)
    for number in T.numbers(claim) - given:
        near_claim = _neighbours(number, T.terms(claim), reach)
        places = [_neighbours(number, T.terms(s), reach) for s in T.sentences(evidence.all)]
        places = [p for p in places if p is not None]
        if not places or (near_claim and not any(near_claim & p for p in places)):
            bad.append(number)
    return bad


def _neighbours(number: str, tokens: list[str], reach: int) -> set[str] | None:
    """Content words within `reach` of `number` in `tokens`; None where it does not occur."""
    found = None
    for i, t in enumerate(tokens):
        if t == number:
            around = tokens[max(0, i - reach): i] + tokens[i + 1: i + 1 + reach]
            found = (found or set()) | {w for w in around if w not in T.STOP and not w.isdigit()}
    return found


def unsupported_names(claim: str, evidence: Evidence, known: set[str] = frozenset(),
                      proper: set[str] = frozenset()) -> list[str]:
    """Capitalised names the evidence does not mention: an invented person, place or group.

    `known` are names the question used that the collection mentions somewhere (restating
    them is no invention); `proper` are the collection's names, so that a sentence may start
    with one.
    """
    vocabulary = T.content_words(evidence.all)
    return sorted(n for n in T.names(claim, proper) - known if not T.mentioned(n, vocabulary))


def misquotations(claim: str, evidence: Evidence) -> list[str]:
    """Quotations that are not word for word in the evidence."""
    plain = T.plain(evidence.all)
    return [q for q in T.quotations(claim) if T.plain(q) not in plain]


def unsupported_speakers(claim: str, evidence: Evidence) -> list[str]:
    """Speakers ("the defense minister said") the evidence never names: real words put in an
    invented mouth."""
    have = T.terms(evidence.all)
    return [role for role in speaker_roles(claim) if not _in_a_row(T.terms(role), have)]


def speaker_roles(sentence: str) -> list[str]:
    """The common-noun end of each speaker before a saying verb ("Lebanese officials told" ->
    "officials"); a named speaker is a name, checked by `unsupported_names`."""
    body = T.CITE.sub("", sentence)
    roles = []
    for m in _SAYS.finditer(body):
        before = re.split(r"[,;:\u2014(\"“”]|\b(?:that|and|while|but|as|when|because)\b",
                          body[:m.start()])[-1].split()[-5:]
        role = []
        for w in reversed(before):
            if not re.fullmatch(r"[a-z][a-z'’-]*", w) or w in ("the", "a", "an", "its", "his",
                                                             "her", "their"):
                break
            role.insert(0, w)
        if role and not set(role) & {"it", "he", "she", "they", "who", "which", "also", "had",
                                     "has", "have", "was", "were", "is", "are", "later",
                                     "earlier", "previously", "reportedly", "then", "not"}:
            roles.append(" ".join(role))
    return roles


def _in_a_row(want: list[str], have: list[str]) -> bool:
    return any(have[i: i + len(want)] == want for i in range(len(have) - len(want) + 1))


def support(claim: str, window: str, evidence: Evidence, question: str = "") -> float:
    """Share of the claim's content words that the sentences it rests on (`window`) hold.

    A word the question used counts half where the window lacks it but its passage has it (an
    answer may restate its question); none where the passage lacks it too, so that "1,000 were
    killed by the barrage" cannot lean on a sentence about other killings.
    """
    words = T.content_words(claim)
    if not words:
        return 0.0
    near, passage = T.content_words(f"{evidence.header}\n{window}"), T.content_words(evidence.all)
    found = {w for w in words if T.mentioned(w, near)}
    restated = {w for w in (words - found) & T.content_words(question) if T.mentioned(w, passage)}
    return (len(found) + len(restated) / 2) / len(words)


# Relevance -----------------------------------------------------------------------------------
def absent_names(question: str, evidence: Evidence, known: set[str], share: float = 0.5) -> list[str]:
    """The names of the question (those the collection knows) the evidence's article lacks,
    when they are more than `share` of them: an answer about another person, place or event."""
    wanted = {n for n in T.names(question) if n in known} | (T.numbers(question) & known)
    have = T.content_words(f"{evidence.all}\n{evidence.article}")
    missing = sorted(n for n in wanted if not T.mentioned(n, have))
    return missing if wanted and len(missing) > share * len(wanted) else []


# What a question asks for, and how an answer shows it gave one. "who" asks only where a
# question or one of its parts starts ("the official who spoke" asks for nothing).
_ASKS_NAME = re.compile(r"(?:^|[,;:]\s*|\band\s+)(?:who|whom|whose)\b|\bnames?\b|"
                        r"\bwhich\s+(?-i:[A-Z])", re.I)
_ASKS_NUMBER = re.compile(r"\b(?:how many|how much|what (?:number|percentage|share|proportion)|"
                          r"how (?:far|long|big|large|old))\b", re.I)
_ASKS_TIME = re.compile(r"^\W*(?:when|what (?:time|day|date|year|month)|on what (?:day|date)|"
                        r"at what time|in what year|which (?:day|date|year|month))\b", re.I)
_TIME_WORDS = set("""monday tuesday wednesday thursday friday saturday sunday january february
march april may june july august september october november december jan feb mar apr jun jul
aug sep sept oct nov dec today yesterday tomorrow morning afternoon evening night overnight
midnight noon week weeks month months year years day days hour hours earlier later ago
am pm""".split())
_ASKS_SHARE = re.compile(r"\bwhat (?:percentage|share|proportion|fraction)\b", re.I)
_SHARE_WORDS = set("percent per cent half third quarter fraction most majority minority all none "
                   "nearly almost".split())
_ASKS_CLOCK = re.compile(r"\b(?:what time|time of day|what hour)\b", re.I)
_CLOCK_WORDS = set("""morning afternoon evening night overnight midnight noon dawn dusk am pm
hour hours minutes""".split())
_QUANTITY_WORDS = set("""dozen dozens hundred hundreds thousand thousands million millions
billion billions several few handful half third quarter percent scores some many""".split())


def gives_what_was_asked(question: str, answer: str, proper: set[str] = frozenset()) -> bool:
    """Whether the answer holds the kind of thing asked for, beyond what the question gave: a
    name for "who", "name of" and "which <Name>" questions, a quantity for "how many", a share
    for "what percentage", a time or date for "when"."""
    given = T.content_words(question)
    if _ASKS_NAME.search(question):
        new = {n for s in T.sentences(answer) for n in T.names(s, proper)}
        if not any(not T.mentioned(n, given) for n in new):
            return False
    said = set(T.words(answer)) - set(T.words(question))
    new_numbers = T.numbers(answer) - T.numbers(question)
    if _ASKS_NUMBER.search(question) and not new_numbers and not said & _QUANTITY_WORDS:
        return False
    if _ASKS_TIME.search(question) and not new_numbers and not said & _TIME_WORDS:
        return False
    if _ASKS_SHARE.search(question) and "%" not in answer and not said & _SHARE_WORDS:
        return False
    if _ASKS_CLOCK.search(question) and not said & _CLOCK_WORDS and not re.search(
            r"\d:\d\d", answer):
        return False
    return True


def adds_to_question(question: str, claim: str) -> bool:
    """Whether a claim says more than its question: "The seaport was bombed." for "Which
    seaport was bombed?" restates it. A yes or a no is an answer to a yes-or-no question."""
    if re.match(r"\W*(yes|no)\b", claim, re.I) and re.match(
            r"\W*(is|are|was|were|did|does|do|has|have|had|can|could|will|would)\b", question, re.I):
        return True
    return bool(T.content_words(claim) - T.content_words(question))


def restates_header(claim: str, evidence: Evidence, question: str = "",
                    share: float = 0.5) -> bool:
    """Whether a claim states only its article's header (title, outlet, date), not its text."""
    # The model reads each article under its header and may answer "Whose words ...?" with
    # "They are from the Daily Planet, Monday, March 3, 2025.". So: no word beyond the question's
    # is the body's alone, and `share` of them are the header's alone; an outlet that the text
    # names too ("she told the Daily Planet") is the text's.
    said = T.content_words(claim) - T.content_words(question)
    header = T.content_words(evidence.header)
    body = T.content_words(f"{evidence.text}\n{evidence.article}")
    in_header = {w for w in said if T.mentioned(w, header)}
    in_body = {w for w in said if T.mentioned(w, body)}
    return bool(said) and not in_body - in_header and len(in_header - in_body) >= share * len(said)


# "the name of the X that ...", "how many Xs were ...": the X a question wants named or counted.
_NAME_OF = re.compile(r"\bnames?(?: or (?:numbers?|titles?))? of ", re.I)
_WHICH = re.compile(r"\bwhich (?=(?-i:[A-Z]))", re.I)
_HOW_MANY = re.compile(r"\b(?:how many|what (?:number|percentage|share|proportion) of) ", re.I)
# Where the noun phrase ends: a clause word, an auxiliary, or a verb in the past tense.
_PHRASE_END = set("""that who whom whose which where when in on at of for to by with from did does
do is are was were has have had will would could can should may might be been being""".split())
_IRREGULAR_PAST = set("""sank fell hit met took left went fled flew shot saw said told made won lost
ran came got gave held led kept sent spent built began broke brought bought caught chose drew
drove ate fought found froze grew hid knew paid put read rose sold set shook sought spoke stood
stole struck swam threw wrote wore woke""".split())


def asked_thing(pattern: re.Pattern, question: str) -> str | None:
    """The stemmed head noun of what a question wants named or counted, or None: the last word
    of the noun phrase after "how many" (or "name of", "which <Name>")."""
    m = pattern.search(question)
    if not m:
        return None
    phrase = []
    for word in re.findall(r"[\w’'-]+|[?,.;:!]", question[m.end():])[:6]:
        low = word.lower()
        if not word[0].isalnum() or low in _PHRASE_END or low in _IRREGULAR_PAST or (
                phrase and low.endswith("ed")):
            break
        phrase.append(word)
    head = T.content_words(phrase[-1]) if phrase else set()
    return head.pop() if head else None


def _near(word: str, thing: str, text: str, reach: int) -> bool:
    """Whether a sentence of `text` has `word` within `reach` words of `thing`."""
    for sentence in T.sentences(text):
        tokens = T.terms(sentence)
        for i, t in enumerate(tokens):
            if T.mentioned(t, {thing}) and word in tokens[max(0, i - reach): i + reach + 1]:
                return True
    return False


def names_the_thing(question: str, claim: str, evidence: Evidence,
                    proper: set[str] = frozenset(), reach: int = 3) -> bool:
    """For "What is the name of the X?" (and "Which <Name> X ...?" where the evidence speaks of
    X), the evidence must put a new name of the claim next to X ("the port of Hodeidah"); a name
    from elsewhere in the sentence names something else."""
    vocabulary = T.content_words(evidence.all)
    thing = asked_thing(_NAME_OF, question)
    if thing is None:
        # "Which Iranian body ...?" may be answered by a name the article never calls a body.
        thing = asked_thing(_WHICH, question)
        if thing is None or not T.mentioned(thing, vocabulary):
            return True
    given = T.content_words(question)
    return any(_near(v, thing, evidence.all, reach)
               for name in T.names(claim, proper) if not T.mentioned(name, given)
               for v in vocabulary if T.mentioned(name, {v}))


def counts_the_thing(question: str, claim: str, evidence: Evidence, reach: int = 4) -> bool:
    """For "How many X ...?" (or "what number/percentage of X"): a new number of the claim must
    stand next to X in the evidence; "1,000 people were killed" does not count soldiers."""
    thing = asked_thing(_HOW_MANY, question)
    new = T.numbers(claim) - T.numbers(question)
    if thing is None or not new:
        return True
    return any(_near(n, thing, evidence.all, reach) for n in new)
