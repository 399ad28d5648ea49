"""Questions as asked (qa/question.py): checked, and split where they ask several things."""
import pytest

from qa.errors import InputError
from qa.question import check, parts


def test_check_tidies_spaces():
    assert check("  How many\tcrews\n walked out? ", limit=100) == "How many crews walked out?"


@pytest.mark.parametrize("question", ["", "   \n\t", None, 42])
def test_an_empty_question_is_refused(question):
    with pytest.raises(InputError, match="The question is empty"):
        check(question, limit=100)


def test_a_long_question_is_refused_naming_the_limit_and_how_to_raise_it():
    with pytest.raises(InputError, match=r"1,500 characters; the limit is 1,000.*"
                                         r"--max-question-chars \(QA_MAX_QUESTION_CHARS\)"):
        check("x" * 1500, limit=1000)
    assert check("x" * 1000, limit=1000) == "x" * 1000


@pytest.mark.parametrize("question,expected", [
    ("What closed the port, and how many boats sank in the storm?",
     ["What closed the port?", "How many boats sank in the storm?"]),
    ("Who rescued the sailors and where did the ferry run aground?",
     ["Who rescued the sailors?", "Where did the ferry run aground?"]),
    ("Which crews struck; what did the union demand from the company?",
     ["Which crews struck?", "What did the union demand from the company?"]),
    ("When did the strike start, and did the talks resume?",
     ["When did the strike start?", "Did the talks resume?"]),
])
def test_a_question_of_several_parts_is_split_into_them(question, expected):
    assert parts(question) == expected


@pytest.mark.parametrize("question", [
    "How many boats sank in the storm?",
    "Did the union and the company meet?",  # one question about two things
    "Who spoke, and what did each say?",  # a part too short to stand alone
])
def test_a_question_of_one_part_gives_none(question):
    assert parts(question) == []
