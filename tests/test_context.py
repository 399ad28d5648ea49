from qa.context import select
from qa.types import Passage

from conftest import fake_embedder

ARTICLE = ("Iran fired 400 ballistic missiles at Israel on Tuesday. Most were intercepted. "
           "The U.S. Navy helped shoot them down. Markets fell in Tokyo. Rain is expected.\n"
           "Hezbollah fired rockets at Haifa. Israel said it would respond.")


def passage(start, end, pid, dense=0.5):
    return Passage(id=pid, source="a.txt", title="t", text=ARTICLE[start:end], start=start,
                   end=end, path="/a.txt", dense=dense)


def test_excerpts_are_exact_slices_around_the_best_sentences_within_the_budget():
    cut = ARTICLE.index("Hezbollah")
    ps = [passage(0, cut - 1, "p1"), passage(cut, len(ARTICLE), "p2")]
    out = select("How many ballistic missiles did Iran fire?", ps, fake_embedder(), budget=90)
    assert out[0].id == "p1" and out[0].text.startswith("Iran fired 400 ballistic missiles")
    assert "Rain" not in out[0].text and len(out) == 1  # over budget: the rest is left out
    for p in out:
        assert ARTICLE[p.start:p.end] == p.text


def test_overlapping_passages_do_not_repeat_a_sentence_and_zero_budget_keeps_everything():
    navy = ARTICLE.index("The U.S. Navy")
    ps = [passage(0, navy - 1, "p1"), passage(ARTICLE.index("Most"), navy + 29, "p2")]
    out = select("Were most missiles intercepted?", ps, fake_embedder(), budget=1000)
    texts = " ".join(p.text for p in out)
    assert texts.count("Most were intercepted.") == 1
    assert select("anything", ps, fake_embedder(), budget=0) == ps


def test_a_sentence_cut_off_by_the_passage_boundary_is_not_offered():
    start = ARTICLE.index("400 ballistic")
    ps = [passage(start, len(ARTICLE) - 10, "p1")]
    out = select("How many ballistic missiles did Iran fire?", ps, fake_embedder(), budget=1000)
    assert not out[0].text.startswith("400") and out[0].text.startswith("Most were")
    assert out[0].text.endswith("Hezbollah fired rockets at Haifa.")


def test_each_part_of_a_two_part_question_brings_its_best_sentence():
    cut = ARTICLE.index("Hezbollah")
    ps = [passage(0, cut - 1, "p1", dense=0.6), passage(cut, len(ARTICLE), "p2", dense=0.3)]
    question = "How many ballistic missiles did Iran fire, and where did Hezbollah fire rockets?"
    out = select(question, ps, fake_embedder(), budget=90, window=0)
    assert [p.text for p in out] == ["Iran fired 400 ballistic missiles at Israel on Tuesday.",
                                     "Hezbollah fired rockets at Haifa."]


def test_sentences_seen_before_are_not_embedded_again():
    embedder = fake_embedder()
    ps = [passage(0, len(ARTICLE), "p1")]
    first = select("How many ballistic missiles did Iran fire?", ps, embedder, budget=60)
    calls = embedder.calls
    again = select("Who helped shoot the missiles down?", ps, embedder, budget=60)
    assert embedder.calls == calls + 1  # the new question only
    assert "Navy" in again[0].text and "Navy" not in first[0].text


def test_a_full_cache_starts_over_without_losing_the_question_at_hand(monkeypatch):
    import qa.context

    monkeypatch.setattr(qa.context, "_KEEP", 4)
    embedder = fake_embedder()
    ps = [passage(0, len(ARTICLE), "p1")]
    first = select("How many ballistic missiles did Iran fire?", ps, embedder, budget=60)
    again = select("How many ballistic missiles did Iran fire?", ps, embedder, budget=60)
    assert again == first
