"""Each grounding check on invented text: what it catches, and what it lets through."""
import pytest

from qa import grounding as G
from qa.judge import Judge, choose, cut_details, is_refusal
from qa.types import Passage

HARBOUR = G.Evidence(
    "A storm sank 12 fishing boats in Port Alder on Sunday. Harbour master Lena Ortiz said the "
    "sea wall had held. \"We were lucky this time,\" Ortiz told the Alder Gazette. Two sailors "
    "were rescued by the coast guard.",
    header='"Storm hits Port Alder" (Alder Gazette, Monday, March 3, 2025)')


def test_a_number_must_count_the_same_thing_in_the_evidence():
    assert G.unsupported_numbers("The storm sank 12 boats.", HARBOUR) == []
    assert G.unsupported_numbers("The storm sank 14 boats.", HARBOUR) == ["14"]
    # 12 is in the evidence, but it counts boats, not sailors.
    assert G.unsupported_numbers("12 sailors were rescued.", HARBOUR) == ["12"]
    # "two" and "2" are the same number; a year the question gave is the question's.
    assert G.unsupported_numbers("The coast guard rescued 2 sailors.", HARBOUR) == []
    assert G.unsupported_numbers("In 2025 the storm sank 12 boats.", HARBOUR,
                                 question="What did the 2025 storm sink?") == []


def test_a_name_the_evidence_never_mentions_is_invented():
    assert G.unsupported_names("Harbour master Lena Ortiz praised the wall.", HARBOUR) == []
    assert G.unsupported_names("Mayor Tom Reyes praised the wall.", HARBOUR) == ["rey", "tom"]  # stems
    # The article's header (its outlet) counts: the model read it.
    assert G.unsupported_names("The Alder Gazette reported 12 boats sank.", HARBOUR) == []


def test_quotations_must_be_word_for_word():
    assert G.misquotations('Ortiz said, "We were lucky this time."', HARBOUR) == []
    assert G.misquotations('Ortiz said, "We were very lucky."', HARBOUR) == ["We were very lucky."]


def test_a_speaker_the_evidence_never_names_is_invented():
    assert G.speaker_roles("The harbour master said the wall held.") == ["harbour master"]
    assert G.unsupported_speakers("The harbour master said the wall held.", HARBOUR) == []
    assert G.unsupported_speakers("The fire chief said the wall held.", HARBOUR) == ["fire chief"]
    assert G.speaker_roles("She said it held.") == []  # a pronoun is no claim about who


def test_support_counts_the_claims_words_in_the_sentences_it_rests_on():
    window = "A storm sank 12 fishing boats in Port Alder on Sunday."
    assert G.support("A storm sank 12 fishing boats.", window, HARBOUR) == 1.0
    # A word of the question counts half where only the passage has it, nothing where it
    # has not: a claim cannot lean on the question for what the evidence lacks.
    half = G.support("Twelve boats sank near the sea wall.", window, HARBOUR,
                     question="What sank near the sea wall?")
    none = G.support("Twelve boats sank near the lighthouse.", window, HARBOUR,
                     question="What sank near the lighthouse?")
    assert half > none


def test_an_answer_must_give_the_kind_of_thing_asked():
    assert G.gives_what_was_asked("Who runs the harbour?", "Lena Ortiz runs it.")
    assert not G.gives_what_was_asked("Who runs the harbour?", "The harbour master runs it.")
    assert G.gives_what_was_asked("How many boats sank?", "Twelve boats sank.")
    assert not G.gives_what_was_asked("How many boats sank?", "Fishing boats sank.")
    assert G.gives_what_was_asked("When did the storm hit?", "It hit on Sunday.")
    assert not G.gives_what_was_asked("When did the storm hit?", "It hit Port Alder.")
    assert not G.gives_what_was_asked("At what time of day did it hit?", "It hit on Sunday.")
    assert not G.gives_what_was_asked("What percentage of boats sank?", "12 boats sank.")
    assert G.gives_what_was_asked("What percentage of boats sank?", "About 40% sank.")
    # "who" inside a clause asks for nothing.
    assert G.gives_what_was_asked("What did the sailors who were rescued say?",
                                  "They thanked the coast guard.")


def test_a_claim_must_say_more_than_its_question():
    assert not G.adds_to_question("Which boats sank in the storm?", "The boats sank in the storm.")
    assert G.adds_to_question("Which boats sank in the storm?", "Fishing boats sank.")
    assert G.adds_to_question("Did the sea wall hold?", "Yes, the sea wall held.")


BRIDGE = G.Evidence(
    "Mayor Ines Varga said the footbridge over Tansy Creek would reopen in May. \"We waited ten "
    "years,\" Varga told the Daily Planet.",
    header='"Footbridge to reopen" (Daily Planet, Monday, March 3, 2025)')


def test_the_articles_header_is_no_answer():
    whose = "Whose comments about the footbridge were reported?"
    assert G.restates_header("The comments are from Daily Planet, Monday, March 3, 2025.",
                             BRIDGE, whose)
    assert G.restates_header("They were published on Monday, March 3, 2025.", BRIDGE, whose)
    assert not G.restates_header("The comments are Mayor Ines Varga's.", BRIDGE, whose)
    # A right answer may name the outlet: the text names it too, or the claim says more.
    assert not G.restates_header("The Daily Planet.", BRIDGE, "Whom did Varga tell?")
    unnamed = G.Evidence("Mayor Ines Varga said the footbridge would reopen in May.",
                         header=BRIDGE.header)
    assert not G.restates_header("Mayor Ines Varga told the Daily Planet it would reopen in May.",
                                 unnamed, whose)


def test_a_name_must_name_the_thing_asked_and_a_number_count_it():
    evidence = G.Evidence("The ferry Blue Heron sank off Cape Lorne, where 40 tourists waited.")
    assert G.names_the_thing("What is the name of the ferry that sank?",
                             "The ferry was the Blue Heron.", evidence)
    lighthouse = G.Evidence("The ferry sank off Cape Lorne. Its lighthouse is closed.")
    assert not G.names_the_thing("What is the name of the cape's lighthouse?",
                                 "The lighthouse is Cape Lorne's.", lighthouse)
    # An article that never speaks of "vessels" cannot place the name next to one.
    assert G.names_the_thing("Which Irish vessel sank?", "The Blue Heron sank.", evidence)
    assert G.names_the_thing("Which Irish ferry sank?", "The Blue Heron sank.", evidence)
    assert not G.names_the_thing("Which Irish ferry sank?", "Cape Lorne's ferry sank.",
                                 G.Evidence("A ferry sank. Cape Lorne has a lighthouse."))
    assert G.counts_the_thing("How many tourists waited?", "40 tourists waited.", evidence)
    assert not G.counts_the_thing("What share of the sailors waited?", "40 sailors waited.",
                                  evidence)
    assert not G.counts_the_thing("How many sailors died?", "40 sailors died.", evidence)


def test_question_names_the_evidence_lacks_mean_another_subject():
    known = {"ortiz", "alder", "rey"}  # the stems the collection has
    assert G.absent_names("What did Lena Ortiz say?", HARBOUR, known) == []
    assert G.absent_names("What did Mayor Reyes say?", HARBOUR, known) == ["rey"]
    # The rest of the article counts: a passage need not repeat where it happened.
    later = G.Evidence("Two sailors were rescued.", article="A storm hit Port Alder.")
    assert G.absent_names("What happened in Port Alder?", later, known) == []


@pytest.mark.parametrize("claim,details,expected", [
    ("The storm sank 12 boats in Port Alder on Sunday, March 2, 2025.", ["2", "2025"],
     "The storm sank 12 boats in Port Alder on Sunday."),
    ("Ortiz, the harbour master since 2019, said the wall held.", ["2019"],
     "Ortiz, the harbour master, said the wall held."),
    ("The storm hit Port Alder, where 30 boats sank.", ["30"], "The storm hit Port Alder."),
    ("The boats sank (about 30 of them) in Port Alder.", ["30"], "The boats sank in Port Alder."),
    ("The boats sank at 10:00 AM near the pier.", ["10", "00"], "The boats sank near the pier."),
    ("12 boats sank.", ["12"], None),  # nothing would be left that stands on its own
    ('Ortiz said the wall "had held" and "we were very lucky."', ["we were very lucky."],
     'Ortiz said the wall "had held"'),
])
def test_an_unsupported_detail_is_cut_with_the_phrase_that_carries_it(claim, details, expected):
    assert cut_details(claim, details) == expected


def passages(*texts, article=None):
    """Passages of different articles, or of one `article`."""
    return [Passage(id=str(i), source=f"{article or i}.txt", title=f"Report {article or i}",
                    text=t, start=0, end=len(t), path=f"/{article or i}.txt")
            for i, t in enumerate(texts)]


def test_the_judge_attributes_each_sentence_and_cuts_or_drops_what_no_passage_states():
    ps = passages("A storm sank 12 fishing boats in Port Alder on Sunday.",
                  "Two sailors were rescued by the coast guard on Monday.", article="storm")
    judge = Judge("What happened in the storm in Port Alder?", ps)
    judged = judge.judge("A storm sank 12 fishing boats in Port Alder on Friday. Two sailors "
                         "were rescued by the coast guard. The mayor declared an emergency.")
    assert [(c.text, c.passage) for c in judged.claims] == [
        ("A storm sank 12 fishing boats in Port Alder.", 0),
        ("Two sailors were rescued by the coast guard.", 1)]
    assert any("mayor declared" in d for d in judged.dropped)


def test_the_judge_drops_a_claim_that_gives_only_the_header():
    text = "Mayor Ines Varga said the footbridge would reopen in May, ten years after it closed."
    ps = [Passage(id="0", source="bridge.txt", title="Footbridge to reopen", text=text, start=0,
                  end=len(text), path="/bridge.txt", outlet="Daily Planet", date="2025-03-03")]
    judge = Judge("Whose comments about the footbridge were reported?", ps)
    header_only = "The comments are from Daily Planet, Monday, March 3, 2025."
    assert judge.problems(header_only, 0) == {"restates the header": True}
    assert not judge.judge(header_only).claims
    assert judge.judge("The comments are those of Mayor Ines Varga.").claims


def test_a_misquotation_goes_and_what_the_passage_says_word_for_word_stays():
    ps = passages("Harbour master Lena Ortiz said the sea wall had held. \"We were lucky this "
                  "time,\" Ortiz said.")
    judge = Judge("What did Lena Ortiz say about the sea wall?", ps)
    [claim] = judge.judge('Ortiz said the sea wall "had held" and that "the town was very '
                          'lucky."').claims
    assert claim.text == 'Ortiz said the sea wall "had held"'
    assert not judge.judge('Ortiz said "the wall was built to last."').claims


def test_a_refusal_or_a_near_miss_is_no_answer_and_the_better_candidate_wins():
    ps = passages("A storm sank 12 fishing boats in Port Alder on Sunday.",
                  "Forty homes in Dunmore lost power during a storm last year.")
    judge = Judge("How many homes lost power in Port Alder?", ps)
    assert is_refusal("The articles do not say.") and not judge.judge("The articles do not say.").claims
    near_miss = judge.judge("Forty homes lost power in Port Alder.")
    assert not near_miss.claims  # forty homes lost power in Dunmore, not Port Alder
    best = choose([(judge, "The articles do not say."), (judge, "Forty homes lost power.")])
    assert best.claims == [] or all("Dunmore" not in c.text for c in best.claims)
