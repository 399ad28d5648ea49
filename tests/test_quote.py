"""The model's quote matched back to the passages (qa/quote.py), as a feature of the decision
and as the citation's highlighted words; invented text."""
from qa import decide
from qa.cite import cite
from qa.judge import Claim, Judge
from qa.quote import backs, locate
from test_decide import passages


def test_a_copy_is_found_in_its_passage_as_whole_words():
    ps = passages()
    found = locate("sank 12 fishing boats in Port Alder", ps)
    assert found.passage == 0 and found.score > 90
    assert found.words(ps) == "sank 12 fishing boats in Port Alder"
    near = locate('"the ferry to Lorne leave at nine"', ps)  # a slip of a word still lands
    assert near.passage == 1 and "Lorne leaves at nine" in near.words(ps)


def test_none_or_words_no_passage_holds_locate_nothing():
    ps = passages()
    assert locate("none", ps) is None and locate("None.", ps) is None and locate("", ps) is None
    assert locate("The bridge to Arran closed for repairs last winter", ps) is None


def test_a_quote_backs_a_claim_that_adds_its_words_from_the_same_passage():
    ps, q = passages(), "How many boats sank in Port Alder?"
    found = locate("12 fishing boats", ps)
    assert backs(found, ps, 0, "The storm sank 12 boats.", q) > 0.9
    assert backs(found, ps, 1, "The storm sank 12 boats.", q) == 0.0  # another passage
    assert backs(found, ps, 0, "Boats sank in Port Alder.", q) == 0.0  # nothing it adds
    assert backs(None, ps, 0, "The storm sank 12 boats.", q) == 0.0


def test_the_quote_is_a_feature_of_every_option():
    j = Judge("How many boats sank in Port Alder?", passages())
    said = decide.options(j, "The storm sank 12 boats.", quote="sank 12 fishing boats")
    assert said[0].features["quoted"] > 0.9 and said[0].features["no_quote"] == 0.0
    refused = decide.options(j, "The storm sank 12 boats.", quote="none")
    assert refused[0].features["quoted"] == 0.0 and refused[0].features["no_quote"] == 1.0


def test_the_citation_highlights_the_quote_where_it_backs_the_claim():
    ps = passages()
    claim = Claim("The storm sank 12 boats in Port Alder.", 0)
    _, [c] = cite([claim], ps, [0.5, 0.1], locate("sank 12 fishing boats", ps))
    assert c.quote == "sank 12 fishing boats"
    _, [c] = cite([claim], ps, [0.5, 0.1], locate("the sea wall had held", ps))
    assert c.quote.startswith("A storm sank 12")  # no word in common: the best sentence
