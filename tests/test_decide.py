"""The decision to keep or cut a claim (qa/decide.py), on invented text: options, features,
the model's certainty, and the answer assembled from what stands."""
import math

from qa import decide
from qa.judge import Judge
from qa.types import Passage

STORM = ("A storm sank 12 fishing boats in Port Alder on Sunday. Harbour master Lena Ortiz "
         "said the sea wall had held.")
FERRY = "The ferry to Lorne leaves at nine. Tickets cost four pounds at the harbour kiosk."


def passages():
    return [Passage(id=f"p{i}", text=t, source=f"{i}.txt", path=f"/a/{i}.txt", start=0,
                    end=len(t), title=title, outlet="Alder Gazette", date="2025-03-03")
            for i, (t, title) in enumerate([(STORM, "Storm hits Port Alder"),
                                            (FERRY, "Ferry times")])]


def judge(question="How many boats sank in Port Alder?"):
    return Judge(question, passages())


def only(feature: str, weight: float, threshold=0.5) -> decide.Decision:
    """A decision that looks at one feature (mean 0, scale 1)."""
    return decide.Decision({feature: weight}, 0.0, {feature: 0.0}, {feature: 1.0}, threshold)


def test_each_sentence_may_rest_on_each_passage_whole_or_with_an_unbacked_detail_cut():
    opts = decide.options(judge(), "The storm sank 12 boats in Port Alder, Mayor Tom Reyes said.")
    assert {o.claim.passage for o in opts} == {0, 1} and set(decide.FEATURES) == set(
        opts[0].features)
    on_storm = [o for o in opts if o.claim.passage == 0]
    whole = next(o for o in on_storm if not o.features["cut"])
    cut = next(o for o in on_storm if o.features["cut"])
    assert whole.features["names"] == 1.0 and cut.features["names"] == 0.0
    assert "Reyes" not in cut.claim.text and "12 boats" in cut.claim.text
    assert decide.options(judge(), "The articles do not say.") == []


def test_the_checks_are_measured_not_vetoed():
    [right, *_] = decide.options(judge(), "The storm sank 12 boats in Port Alder.")
    [wrong, *_] = decide.options(judge(), "The storm sank 14 boats in Port Alder.")
    assert right.claim.passage == wrong.claim.passage == 0
    assert right.features["numbers"] == 0.0 and wrong.features["numbers"] == 1.0
    assert right.features["kind"] == 1.0 and right.features["counted"] == 1.0
    assert right.features["support"] > 0.5 and right.features["relevance"] > 0.3


def test_the_models_certainty_follows_the_words_of_each_sentence():
    text = "The storm sank 12 boats. Ortiz said the wall held."
    pieces = [["The storm sank", -0.1], [" 12 boats.", -2.0], [" Ortiz said", -0.3],
              [" the wall held.", -0.5]]
    sure = decide.certainty(text, pieces)
    assert sure == {"The storm sank 12 boats.": [-0.1, -2.0],
                    "Ortiz said the wall held.": [-0.3, -0.5]}
    [o, *_] = decide.options(judge(), text, pieces)
    assert math.isclose(o.features["sure"], -1.05) and o.features["least_sure"] == -2.0
    [unknown, *_] = decide.options(judge(), text)  # a hosted LLM's pieces carry none
    assert math.isnan(unknown.features["sure"])
    assert only("sure", 1.0).probability(unknown.features) == 0.5  # weighs as the average


def test_what_stands_is_the_best_option_of_each_sentence_above_the_threshold():
    j = judge()
    wants_numbers_right = only("numbers", -5.0)
    kept = decide.choose([(j, "The storm sank 12 boats in Port Alder.", None, False)],
                         wants_numbers_right)
    assert [c.text for c in kept.claims] == ["The storm sank 12 boats in Port Alder."]
    assert kept.claims[0].passage == 0 and kept.answered == {0}
    cut = decide.choose([(j, "The storm sank 14 boats in Port Alder.", None, False)],
                        wants_numbers_right)
    assert cut.claims == [] and cut.answered == set() and "p 0.01" in cut.dropped[0]


def test_the_parts_add_what_the_question_as_asked_did_not_say():
    j, part = judge("How many boats sank, and when does the ferry leave?"), judge(
        "When does the ferry leave?")
    everything = only("support", 1.0, threshold=0.0)
    kept = decide.choose([(j, "The storm sank 12 boats.", None, False),
                          (part, "The ferry to Lorne leaves at nine.", None, True),
                          (part, "The ferry leaves at nine.", None, True)], everything)
    assert [c.text for c in kept.claims] == ["The storm sank 12 boats.",
                                             "The ferry to Lorne leaves at nine."]
    assert kept.answered == {0, 1, 2}  # the third says what the second did: not repeated
