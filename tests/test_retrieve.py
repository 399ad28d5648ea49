import pytest

from qa.retrieve import parts, rrf


@pytest.mark.parametrize("question,expected", [
    ("What started the war, and how many people died in it?",
     ["What started the war", "how many people died in it"]),
    ("Who helped in April and who helped in October?", ["Who helped in April", "who helped in October"]),
    ("Which officials spoke; what did they say about the border raids?",
     ["Which officials spoke", "what did they say about the border raids"]),
    ("Did Israel and Iran exchange fire?", []),  # one question about two things
    ("Who was quoted, and what did each say?", []),  # a part too short to search on its own
])
def test_a_question_of_several_parts_is_split_into_them(question, expected):
    assert parts(question) == expected


def test_rrf_rewards_agreement_between_rankings():
    fused = rrf([["a", "b", "c"], ["b", "a"], ["b"]])
    assert max(fused, key=fused.get) == "b" and fused["c"] < fused["a"]
