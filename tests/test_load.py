import re
from pathlib import Path

import pypdf
import pytest

from index.errors import ArticleError
from index.load import find_byline, find_date, find_files, find_title, read_article

from conftest import ROOT, SEEDS

PAGE = """<!doctype html><html><head>
<title>Harbour bridge reopens after repairs | The Riverside Courier</title>
<meta property="og:site_name" content="The Riverside Courier">
<meta name="author" content="Mara Quill">
<meta property="article:published_time" content="2022-05-14T08:30:00Z">
<script>var beacon = "pixel-beacon-123";</script><style>.ad{color:red}</style></head>
<body><nav><a href="/">Home</a> <a href="/sport">Sport</a> <a href="/weather">Weather</a></nav>
<article><h1>Harbour bridge reopens after repairs</h1>
<p>The old harbour bridge opened to traffic again on Saturday morning after eight months of
repairs to its rusted cables.</p>
<p>Engineers replaced forty-two cable anchors and repainted the deck, the town council said.</p>
<p>Cyclists will get a separate lane from June, when the second phase of the work ends.</p>
</article>
<footer>Copyright 2019 Riverside Media. <a href="/privacy">Privacy policy</a>
Subscribe to our newsletter</footer></body></html>"""


def make_pdf(pages: list[list[str]], title: str = "") -> bytes:
    """A minimal PDF with one text object per page (pypdf can write pages but not text)."""
    font = "<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>"]
    for i, lines in enumerate(pages):
        stream = "BT /F1 12 Tf 14 TL 72 720 Td " + " ".join(f"({ln}) '" for ln in lines) + " ET"
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources {font} "
                    f"/Contents {4 + 2 * i} 0 R >>")
        objs.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    if title:
        objs.append(f"<< /Title ({title}) >>")
    out, offsets = b"%PDF-1.4\n", []
    for number, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{obj}\nendobj\n".encode("latin-1")
    info = f" /Info {len(objs)} 0 R" if title else ""
    xref = "".join(f"{at:010d} 00000 n \n" for at in offsets)
    return out + (f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n{xref}trailer\n"
                  f"<< /Size {len(objs) + 1} /Root 1 0 R{info} >>\nstartxref\n{len(out)}\n%%EOF\n").encode()


def write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_txt_gives_title_byline_outlet_and_date_and_keeps_the_text(tmp_path):
    body = ("Gulls circle the empty pier at dawn on the first cold morning of the season, as a ferry "
            "waits at its mooring for crew who will not arrive until the strike is settled next week. "
            "(Photo: Lena Park)\n\nBy Jane Doe and Sam Roe, The Harbor Gazette\n\n"
            "Published: March 3, 2023\n\nFerry crews walked out on Thursday.\n")
    a = read_article(write(tmp_path, "ferry.txt", b"\xef\xbb\xbf" + body.replace("\n", "\r\n").encode()))
    assert a.text == body  # BOM dropped and CRLF made LF, nothing else changed
    assert a.title == "Ferry crews walked out on Thursday."  # the lede, not the caption
    assert (a.author, a.outlet, a.date) == ("Jane Doe and Sam Roe", "The Harbor Gazette", "2023-03-03")
    assert (a.source, a.path) == ("ferry.txt", str((tmp_path / "ferry.txt").resolve()))


def test_markdown_title_and_italic_byline(tmp_path):
    md = "# Orchard harvest doubles\n\n*By Ivo Brandt, Valley Post*\n\nUpdated 4 July 2021\n\nApples...\n"
    a = read_article(write(tmp_path, "orchard.md", md))
    assert (a.title, a.author, a.outlet, a.date) == (
        "Orchard harvest doubles", "Ivo Brandt", "Valley Post", "2021-07-04")


def test_no_date_or_byline_when_none_is_stated(tmp_path):
    a = read_article(write(tmp_path, "plain.txt", "Quiet week\n\nThe council met in 2020 and again "
                                                  "on Monday.\nNothing was decided.\n"))
    assert (a.title, a.date, a.author, a.outlet) == ("Quiet week", "", "", "")


@pytest.mark.parametrize("line", [
    "Oct. 1, 2024", "Oct 1, 2024", "October 1, 2024", "October 1st, 2024", "1 October 2024",
    "1 Oct. 2024", "2024-10-01", "2024-10-01T09:15:00Z", "Tuesday, October 1, 2024",
    "Published: Oct. 1, 2024 at 9:15 a.m.", "Updated 10:19 AM EDT, Tue October 1, 2024",
])
def test_find_date_reads_common_news_formats(line):
    assert find_date(f"A headline\n{line}\nBody text.") == "2024-10-01"


def test_find_date_prefers_published_skips_impossible_and_looks_only_at_the_top():
    assert find_date("Updated Oct. 2, 2024\nPublished Oct. 1, 2024\n") == "2024-10-01"
    assert find_date("Feb. 30, 2024 never was\nbut March 1, 2024 was") == "2024-03-01"
    assert find_date("line\n" * 15 + "October 1, 2024") == ""
    assert find_date("x" * 2000 + " October 1, 2024") == ""
    assert find_date("No date, only 10/01/2024 and the year 2024.") == ""


def test_find_byline_forms():
    assert find_byline("Title\nBy Jane Doe\nText") == ("Jane Doe", "")
    assert find_byline("Title\nBY JANE DOE, REUTERS\n") == ("JANE DOE", "REUTERS")
    assert find_byline("Title\nAna Ruiz, Ben Okafor and Cy Li, The Daily Ledger\n") == (
        "Ana Ruiz, Ben Okafor and Cy Li", "The Daily Ledger")
    assert find_byline("Title\nBy the time the rain stopped, the river had risen.\n") == ("", "")
    assert find_byline("\n" * 12 + "By Jane Doe") == ("", "")


@pytest.mark.parametrize("credit", [
    "JOHN DOE/AFP/GETTY IMAGES", "Jane Roe/Reuters", "Jane Roe / Reuters",
    "Photo: Jane Roe for The Daily Planet", "Photograph by Jane Roe, The Daily Planet",
    "Credit...Jane Roe, The Daily Planet", "Photo Jane Roe, Reuters", "JOHN DOE, GETTY IMAGES",
    "JOHN DOE, AFP", "(Courtesy of Jane Roe)",
])
def test_a_photo_credit_is_no_byline(credit):
    assert find_byline(f"Title\n{credit}\n") == ("", "")
    # and it does not hide the byline below it
    assert find_byline(f"Title\n{credit}\nBy Ana Ruiz, The Daily Ledger\n") == (
        "Ana Ruiz", "The Daily Ledger")


LEDE = ("QUARRY HOLLOW — Volunteers rebuilt the footbridge over Tansy Creek on Saturday, a month "
        "after floodwater carried the old one away. The council paid for the timber.")


@pytest.mark.parametrize("top", [
    "Volunteers carry planks across the swollen creek at dawn as neighbours watch from the bank "
    "beside the ruined mill. (Photo: Odile Marchetti)",
    "Odile Marchetti / Hollow Courier Volunteers carry planks across the swollen creek at dawn.",
    "A volunteer carries a plank across the creek.",  # no credit, but above the byline
    "TOMAS BRENNICK/HOLLOW COURIER",
])
def test_a_caption_is_no_title_the_lede_is(top):
    text = f"{top}\n\nBy Tomas Brennick, The Hollow Courier\n\nPublished: May 4, 2024\n\n{LEDE}\n"
    assert find_title(text) == LEDE.split(" The council")[0]


def test_a_headline_near_the_top_is_the_title_even_below_a_caption():
    caption = "Volunteers carry planks across the creek at dawn. (Jane Roe/Hollow Courier)"
    assert find_title(f"{caption}\n\nFootbridge Rebuilt in a Day\n\n{LEDE}") == (
        "Footbridge Rebuilt in a Day")
    assert find_title(f"Footbridge Rebuilt.\n\n{LEDE}") == "Footbridge Rebuilt."  # title case
    assert find_title("# Why did the bridge fall?\n\nIt was old.") == "Why did the bridge fall?"
    # with no headline above the lede, a subheading below it is no title
    subheading = f"{LEDE}\n\nThe timber\n\nIt came from Holm Wood."
    assert find_title(subheading) == LEDE.split(" The council")[0]


def test_a_long_lede_is_cut_at_a_word():
    lede = "Volunteers " + "and neighbours " * 30 + "rebuilt the bridge."
    title = find_title(lede)
    assert len(title) <= 160 and title.endswith("…") and lede[len(title) - 1] == " "


def test_html_keeps_the_article_drops_boilerplate_and_reads_metadata(tmp_path):
    a = read_article(write(tmp_path, "bridge.html", PAGE))
    assert "after eight months of\nrepairs" not in a.text  # trafilatura joins wrapped lines
    paragraphs = a.text.split("\n\n")
    assert paragraphs[1].startswith("The old harbour bridge opened") and len(paragraphs) == 4
    assert paragraphs[-1].startswith("Cyclists will get a separate lane")
    for junk in ("Sport", "Weather", "pixel-beacon", "color:red", "Privacy policy", "newsletter"):
        assert junk not in a.text
    assert (a.title, a.author, a.date, a.outlet) == (
        "Harbour bridge reopens after repairs", "Mara Quill", "2022-05-14", "The Riverside Courier")


def test_html_date_is_not_guessed_from_a_copyright_year(tmp_path):
    page = re.sub(r'<meta property="article:published_time"[^>]*>', "", PAGE)
    assert read_article(write(tmp_path, "bridge.htm", page)).date == ""


def test_real_news_page():
    a = read_article(ROOT / "eval/other/articles/cnn_001.html")
    assert a.title.startswith("Analysis: The nonstop sparring match") and "|" not in a.title
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", a.date) and a.outlet == "CNN"
    assert "tip of the spear for conservatives" in a.text and "<" not in a.text


def test_pdf_pages_title_byline_and_date(tmp_path):
    pdf = make_pdf([["Tram line extended", "By Noor Haddad, Metro Weekly", "June 9, 2022",
                     "The new stop serves the hos-", "pital and the school."], ["Page two ends it."]],
                   title="Tram extension report")
    a = read_article(write(tmp_path, "tram.pdf", pdf))
    assert a.text == ("Tram line extended\nBy Noor Haddad, Metro Weekly\nJune 9, 2022\n"
                      "The new stop serves the hospital and the school.\n\nPage two ends it.")
    assert (a.title, a.author, a.outlet, a.date) == (
        "Tram extension report", "Noor Haddad", "Metro Weekly", "2022-06-09")
    assert read_article(write(tmp_path, "untitled.pdf", make_pdf([["Tram line extended", "x"]]))
                        ).title == "Tram line extended"


def test_pdf_encrypted_with_an_empty_password_is_read(tmp_path):
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(write(tmp_path, "a.pdf", make_pdf([["Open text"]]))))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    writer.write(tmp_path / "b.pdf")
    assert read_article(tmp_path / "b.pdf").text == "Open text"


def _locked_pdf(folder: Path) -> Path:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(write(folder, "open.pdf", make_pdf([["Text"]]))))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    writer.write(folder / "locked.pdf")
    return folder / "locked.pdf"


def _blank_pdf(folder: Path) -> Path:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(612, 792)
    writer.write(folder / "scan.pdf")
    return folder / "scan.pdf"


def _big_file(folder: Path) -> Path:
    with open(folder / "big.txt", "wb") as f:
        f.truncate(3 * 2**20)  # sparse: its size is all that is looked at
    return folder / "big.txt"


@pytest.mark.parametrize("make, message", [
    (_big_file, r"3\.0 MB is over the 1 MB limit; split the file or raise QA_MAX_FILE_MB"),
    (lambda d: write(d, "empty.txt", b""), "empty.*add the article's text"),
    (lambda d: write(d, "blank.md", " \n\r\n\t"), "empty.*add the article's text"),
    (lambda d: write(d, "bin.txt", b"\x00\x01\x02abc"), "binary data.*save it as .txt"),
    (lambda d: write(d, "wide.txt", "hi".encode("utf-16")), "UTF-16.*iconv -f UTF-16 -t UTF-8"),
    (lambda d: write(d, "latin.txt", "caf\xe9".encode("latin-1")), "not UTF-8.*byte at 3.*iconv"),
    (lambda d: write(d, "latin.html", "<p>caf\xe9</p>".encode("latin-1")), "not UTF-8.*iconv"),
    (lambda d: write(d, "nothing.html", "<html><body><script>x()</script></body></html>"),
     "no article text.*save the article's text as .txt"),
    (_blank_pdf, r"no text layer \(scanned\?\); run OCR first"),
    (_locked_pdf, "encrypted PDF; remove the password.*qpdf --decrypt"),
    (lambda d: write(d, "broken.pdf", b"%PDF-1.4\nnot really\n"), "damaged PDF.*repair it"),
    (lambda d: write(d, "cut.pdf", make_pdf([["Some text"]])[:300]), "damaged PDF.*repair it"),
    (lambda d: write(d, "notes.docx", b"PK\x03\x04"), "unsupported file type '.docx'; save it as .txt"),
    (lambda d: d / "gone.txt", "cannot read it.*check that it exists"),
    (lambda d: (d / "folder.txt").mkdir() or d / "folder.txt", "cannot read it"),
])
def test_unusable_files_raise_article_errors_that_say_what_to_do(tmp_path, make, message):
    with pytest.raises(ArticleError, match=message):
        read_article(make(tmp_path), max_bytes=2**20)


def test_truncated_pdfs_raise_only_article_errors(tmp_path):
    pdf = make_pdf([["Alpha beta", "gamma"], ["delta"]], title="T")
    for cut in range(0, len(pdf), 23):
        try:
            read_article(write(tmp_path, "t.pdf", pdf[:cut]))
        except ArticleError:
            pass


def test_find_files_walks_folders_skipping_hidden_unknown_and_link_loops(tmp_path):
    for name in ("a.txt", "b.md", "c.pdf", "e.docx", ".hidden.txt", ".git/f.txt", "sub/d.html"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x")
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    files, skipped = find_files([tmp_path, tmp_path / "missing", tmp_path / "e.docx"])
    assert [f.name for f in files] == ["a.txt", "b.md", "c.pdf", "d.html"]
    assert skipped == [f"{tmp_path / 'e.docx'}: not a .txt, .md, .html or .pdf file",
                       f"{tmp_path / 'missing'}: no such file or folder",
                       f"{tmp_path / 'e.docx'}: not a .txt, .md, .html or .pdf file"]


def test_seeds_load_with_titles():
    for path in sorted(SEEDS.glob("*.txt")):
        assert read_article(path).title
    a = read_article(SEEDS / "000_c3c1596244da0a4c.txt")
    # its first paragraph is a photo's caption: the title is the lede, below the byline
    assert a.text.split("\n\n")[2].startswith(a.title) and len(a.title) <= 160
    assert (a.author, a.outlet, a.date) == ("Nabih Bulos and Tracy Wilkinson", "Los Angeles Times",
                                            "2024-10-01")
