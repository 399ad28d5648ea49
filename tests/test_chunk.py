"""Articles into passages: nothing lost, nothing read twice, exact offsets, stable ids."""
from index.chunk import split_article
from index.types import Article

SHORT = ("Ferry strike halts service\n\nBy Mara Quill, The Riverside Courier\n\n"
         "Crews walked off the job on Monday.\n\nTalks are set for Thursday.\n")


def long_paragraph(n: int = 40) -> str:
    return " ".join(f"Crew member {i} signed the petition on the pier before the {i}th "
                    f"crossing of the day was cancelled." for i in range(n))


def article(text: str, path: str = "/news/ferry.txt") -> Article:
    return Article(path=path, source="ferry.txt", title="Ferry strike halts service", text=text,
                   outlet="The Riverside Courier", date="2025-03-03")


def test_short_paragraphs_are_packed_into_one_passage():
    [p] = split_article(article(SHORT), 128)
    assert p.text == SHORT.strip() and (p.start, p.end) == (0, len(SHORT.strip()))
    assert (p.source, p.title, p.outlet, p.date, p.path) == (
        "ferry.txt", "Ferry strike halts service", "The Riverside Courier", "2025-03-03",
        "/news/ferry.txt")


def test_passages_cover_every_paragraph_without_overlap_at_exact_offsets():
    text = SHORT + "\n" + long_paragraph() + "\n\nA last short paragraph.\n"
    a = article(text)
    passages = split_article(a, 128)
    assert len(passages) > 3
    for p, following in zip(passages, passages[1:]):
        assert p.end <= following.start  # no overlap, in text order
    covered = set()
    for p in passages:
        assert a.text[p.start:p.end] == p.text
        covered.update(range(p.start, p.end))
    assert all(i in covered for i, c in enumerate(text) if not c.isspace())


def test_a_long_paragraph_is_cut_between_sentences():
    text = long_paragraph()
    passages = split_article(article(text), 64)
    assert len(passages) > 1
    for p in passages:
        assert p.text.startswith("Crew member ") and p.text.endswith("cancelled.")
        assert len(p.text.split()) <= 64
    assert len(split_article(article(text), 128)) < len(passages)


def test_ids_are_stable_and_change_with_content_and_path():
    text = SHORT + "\n" + long_paragraph()
    first = [p.id for p in split_article(article(text), 64)]
    assert first == [p.id for p in split_article(article(text), 64)]
    assert len(set(first)) == len(first)

    edited = [p.id for p in split_article(article(text.replace("39th", "40th")), 64)]
    assert edited[:-1] == first[:-1] and edited[-1] != first[-1]  # only the changed passage
    moved = [p.id for p in split_article(article(text, path="/elsewhere/ferry.txt"), 64)]
    assert not set(moved) & set(first)
