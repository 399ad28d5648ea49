"""What the model reads on the retrieval path (qa/context.py): the best sentences of the
retrieved passages, as exact slices, within a budget of characters."""
from conftest import fake_embedder
from qa.context import select
from qa.types import Passage

ARTICLE = ("The storm sank 12 fishing boats in Port Alder on Sunday. Most crews reached the shore. "
           "The coast guard helped pull them out. Markets fell in Dunmore. Rain is expected.\n"
           "Lena Ortiz reopened the harbour on Monday. The council said it would pay for repairs.")
BOATS = "How many fishing boats did the storm sink?"


def passage(start, end, pid, dense=0.5):
    return Passage(id=pid, source="a.txt", title="t", text=ARTICLE[start:end], start=start,
                   end=end, path="/a.txt", dense=dense)


def halves(dense=(0.5, 0.5)):
    cut = ARTICLE.index("Lena")
    return [passage(0, cut - 1, "p1", dense[0]), passage(cut, len(ARTICLE), "p2", dense[1])]


def test_excerpts_are_exact_slices_around_the_best_sentences_within_the_budget():
    out = select(BOATS, halves(), fake_embedder(), budget=90)
    assert [p.id for p in out] == ["p1"]  # over budget: the rest is left out
    assert out[0].text.startswith("The storm sank 12 fishing boats") and "Rain" not in out[0].text
    assert len(out[0].text) <= 90 and ARTICLE[out[0].start:out[0].end] == out[0].text


def test_overlapping_passages_do_not_repeat_a_sentence_and_no_budget_keeps_everything():
    guard = ARTICLE.index("The coast guard")
    ps = [passage(0, guard - 1, "p1"), passage(ARTICLE.index("Most"), guard + 36, "p2")]
    out = select("Did most crews reach the shore?", ps, fake_embedder(), budget=1000)
    assert " ".join(p.text for p in out).count("Most crews reached the shore.") == 1
    assert select("anything", ps, fake_embedder(), budget=0) == ps


def test_a_sentence_cut_off_by_the_passage_boundary_is_not_offered():
    ps = [passage(ARTICLE.index("12 fishing"), len(ARTICLE) - 10, "p1")]
    [out] = select(BOATS, ps, fake_embedder(), budget=1000)
    assert out.text.startswith("Most crews") and out.text.endswith("on Monday.")


def test_each_part_of_a_two_part_question_brings_its_best_sentence():
    question = BOATS[:-1] + ", and who reopened the harbour?"
    out = select(question, halves(dense=(0.6, 0.3)), fake_embedder(), budget=100, window=0)
    assert [p.text for p in out] == ["The storm sank 12 fishing boats in Port Alder on Sunday.",
                                     "Lena Ortiz reopened the harbour on Monday."]


def test_sentences_seen_before_are_not_embedded_again():
    embedder = fake_embedder()
    ps = [passage(0, len(ARTICLE), "p1")]
    first = select(BOATS, ps, embedder, budget=60)
    calls = embedder.calls
    again = select("Who helped pull the crews out?", ps, embedder, budget=60)
    assert embedder.calls == calls + 1  # the new question only
    assert "coast guard" in again[0].text and "coast guard" not in first[0].text


def test_a_full_cache_starts_over_without_losing_the_question_at_hand(monkeypatch):
    import qa.context

    monkeypatch.setattr(qa.context, "_KEEP", 4)
    ps = [passage(0, len(ARTICLE), "p1")]
    embedder = fake_embedder()
    assert select(BOATS, ps, embedder, budget=60) == select(BOATS, ps, embedder, budget=60)
