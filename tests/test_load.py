from index.chunk import split_article
from index.load import find_files, html_to_text, read_article

from conftest import SEEDS


def test_reads_seed_with_title_byline_and_outlet():
    a = read_article(SEEDS / "000_c3c1596244da0a4c.txt")
    assert a.source == "000_c3c1596244da0a4c.txt"
    assert a.title.startswith("An Israeli army main battle tank")
    assert (a.byline, a.outlet) == ("Nabih Bulos and Tracy Wilkinson", "Los Angeles Times")
    b = read_article(SEEDS / "001_0c16718d7dae18e4.txt")
    assert b.title == "Iran Launches 400 Ballistic Missiles at Israel, U.S. Assists in Defense Amid Rising Tensions"
    assert (b.byline, b.outlet) == ("", "")


def test_html_keeps_text_and_title_drops_scripts_and_styles(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><head><title>Big &amp; news</title><style>p{color:red}</style></head>"
                    "<body><script>alert(1)</script><h1>Head</h1><p>First para.</p><p>Second</p></body></html>")
    a = read_article(page)
    assert a.title == "Big & news"
    assert a.text == "Head\n\nFirst para.\n\nSecond"
    assert html_to_text("<p>a<br>b</p>")[1] == "a\n\nb"


def test_find_files_skips_unknown_types_hidden_files_and_link_loops(tmp_path):
    (tmp_path / "a.txt").write_text("A")
    (tmp_path / "b.md").write_text("B")
    (tmp_path / "c.pdf").write_bytes(b"%PDF")
    (tmp_path / ".hidden.txt").write_text("H")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "d.html").write_text("<p>D</p>")
    (sub / "loop").symlink_to(tmp_path, target_is_directory=True)
    files, skipped = find_files([tmp_path, tmp_path / "missing"])
    assert [f.name for f in files] == ["a.txt", "b.md", "d.html"]
    assert any("c.pdf" in s for s in skipped) and any("no such file" in s for s in skipped)


def test_unreadable_files_raise_clear_errors(tmp_path):
    import pytest

    bad = {"empty.txt": b"  \n", "bin.txt": b"\x00\x01\x02abc", "latin.txt": "caf\xe9".encode("latin-1")}
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    with pytest.raises(ValueError, match="empty"):
        read_article(tmp_path / "empty.txt")
    with pytest.raises(ValueError, match="binary"):
        read_article(tmp_path / "bin.txt")
    with pytest.raises(ValueError, match="not UTF-8.*iconv"):
        read_article(tmp_path / "latin.txt")


def test_passages_know_their_offsets_and_cover_the_article():
    for path in sorted(SEEDS.glob("*.txt")):
        a = read_article(path)
        ps = split_article(a, chunk_size=160, chunk_overlap=30)
        assert len(ps) > 3
        for p in ps:
            assert a.text[p.start:p.end] == p.text and p.source == a.source
        covered = set()
        for p in ps:
            covered.update(range(p.start, p.end))
        letters = {i for i, ch in enumerate(a.text) if not ch.isspace()}
        assert letters <= covered  # no sentence falls between two passages
        assert len({p.id for p in ps}) == len(ps)


def test_ids_are_stable_and_change_with_content():
    a = read_article(SEEDS / "002_d1d51d3d16951b55.txt")
    first = [p.id for p in split_article(a, 160, 30)]
    assert first == [p.id for p in split_article(a, 160, 30)]
    a.text = a.text.replace("Hezbollah", "Hizballah", 1)
    changed = [p.id for p in split_article(a, 160, 30)]
    assert changed[0] != first[0] and changed[-1] == first[-1]
