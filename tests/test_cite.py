"""Citations (qa/cite.py): numbered in order of first use, each the real passage and the
sentence of it that supports the claim."""
from qa.cite import best_sentence, cite
from qa.judge import Claim
from qa.types import Passage

PASSAGES = [
    Passage("p-ferry", "ferry.txt", "Ferry strike halts service",
            "Crews walked out on Monday. The union said 240 workers joined the strike.", 120, 194,
            path="/news/ferry.txt", outlet="The Riverside Courier", date="2025-03-03", dense=0.7),
    Passage("p-port", "port.txt", "Port stays open",
            "Rain fell all day. Lena Ortiz said the port would stay open for cargo ships.", 0, 75,
            path="/news/port.txt"),
]


def test_marks_are_numbered_in_order_of_first_use():
    claims = [Claim("Lena Ortiz said the port would stay open", 1),
              Claim("The union said 240 workers joined the strike.", 0),
              Claim("Rain fell all day!", 1)]
    text, citations = cite(claims, PASSAGES, relevance=[0.2, 0.4])
    assert text == ("Lena Ortiz said the port would stay open [1]. The union said 240 workers "
                    "joined the strike [2]. Rain fell all day [1]!")
    assert [(c.number, c.passage_id) for c in citations] == [(1, "p-port"), (2, "p-ferry")]


def test_a_citation_is_the_passage_with_its_article_and_offsets():
    _, [c] = cite([Claim("The union said 240 workers joined the strike.", 0)], PASSAGES,
                  relevance=[0.2, 0.4])
    assert (c.source, c.text, c.start, c.end) == ("ferry.txt", PASSAGES[0].text, 120, 194)
    assert (c.title, c.outlet, c.date) == ("Ferry strike halts service", "The Riverside Courier",
                                           "2025-03-03")
    assert c.score == 0.7  # the retrieval similarity; the question's relevance where none
    _, [d] = cite([Claim("Lena Ortiz said the port would stay open.", 1)], PASSAGES, [0.2, 0.4])
    assert d.score == 0.4


def test_the_quote_is_the_passage_sentence_that_best_matches_the_claims():
    _, [c] = cite([Claim("Ortiz said the port stays open.", 1)], PASSAGES, [0.2, 0.4])
    assert c.quote == "Lena Ortiz said the port would stay open for cargo ships."
    assert best_sentence(PASSAGES[0].text, "Crews walked out.") == "Crews walked out on Monday."
