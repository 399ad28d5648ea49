"""Reading English text (qa/text.py): sentences, words, stems, names, numbers, quotations."""
import pytest

from qa import text as T
from qa.judge import claims_of


def test_sentence_spans_are_exact_offsets():
    text = "Crews walked out.  The pier closed at noon.\n\n- Talks resume Thursday."
    spans = T.sentence_spans(text)
    assert [text[a:b] for a, b in spans] == [
        "Crews walked out.", "The pier closed at noon.", "Talks resume Thursday."]
    assert spans[1] == (19, 43)


def test_abbreviations_do_not_end_sentences():
    text = ("U.S. officials met on Oct. 1 in Port Alder. Rear Adm. Jane Holt spoke first. "
            "Gov. Reyes did not.")
    assert T.sentences(text) == ["U.S. officials met on Oct. 1 in Port Alder.",
                                 "Rear Adm. Jane Holt spoke first.", "Gov. Reyes did not."]


def test_bullets_lines_and_a_writers_numbering_are_left_out_of_sentences():
    text = ("The crews said:\n- Pay is late [1]\n* Boats are old\n2. Talks failed.\n"
            "(1) Two boats sank [2]. (2) Crews swam ashore [3].")
    assert T.sentences(text) == ["The crews said:", "Pay is late [1]", "Boats are old",
                                 "Talks failed.", "Two boats sank [2].", "Crews swam ashore [3]."]


def test_citations_after_a_full_stop_stay_with_their_sentence():
    assert T.sentences("The port stayed open. [1] Talks resume Thursday [2]. Done.") == [
        "The port stayed open. [1]", "Talks resume Thursday [2].", "Done."]


def test_quotations_are_kept_whole():
    assert T.sentences("Ortiz said, “We were lucky this time.” The wall held [1].") == [
        "Ortiz said, “We were lucky this time.”", "The wall held [1]."]
    assert T.quotations('He called it a "limited, local" stoppage and “a warning”.') == [
        "limited, local", "a warning"]
    # A quotation of several sentences is one claim of an answer.
    assert claims_of('Ortiz said, "We were lucky. The wall held." Two boats sank.') == [
        'Ortiz said, "We were lucky. The wall held."', "Two boats sank."]


def test_numbers_as_written_without_separators_and_small_ones_in_words():
    assert T.numbers("About 1,200 workers and four boats, one by one, over 3.5 days [2].") == {
        "1200", "4", "3.5"}  # "one" is too often no number; the citation is none
    assert T.stem("four") == "4" and T.stem("1,000") == "1000"


def test_words_drop_possessives_and_join_initials():
    assert T.words("Alder’s U.S. allies and the U.N. [3]") == ["alder", "us", "allies", "and",
                                                              "the", "un"]


def test_names_count_a_first_word_only_when_the_text_writes_it_as_a_name():
    assert T.names("Ortiz said the wall held.") == set()
    assert T.names("Ortiz said the wall held.", proper={"ortiz"}) == {"ortiz"}
    assert T.names("The harbour master Lena Ortiz met Mayor Tom Reyes [3].") == {
        "lena", "ortiz", "mayor", "tom", "rey"}
    assert T.proper_names("The wall held, said Lena Ortiz. Ortiz runs the port.") == {"lena",
                                                                                      "ortiz"}


@pytest.mark.parametrize("a,b", [("Oct.", "October"), ("Sept", "September"), ("fired", "firing"),
                                 ("Alder's", "Alder")])
def test_stems_make_variants_one_word(a, b):
    assert T.content_words(a) == T.content_words(b)


def test_may_is_no_month_and_a_longer_form_is_mentioned():
    assert T.stem("march") == T.stem("mar") == "mar" and T.stem("may") == "may"  # also a verb
    assert T.mentioned("iranian", {"iran"}) and not T.mentioned("ortiz", {"reyes"})


def test_cited_numbers_and_uncited_text():
    assert T.cited_numbers("A [2]. B [1, 3]. C [Passage 4]. D [5-7]. E [1][2]") == [
        2, 1, 3, 4, 5, 6, 7, 1, 2]
    assert T.uncited("Boats sank [1]. Crews swam [2, 3] .") == "Boats sank. Crews swam."
