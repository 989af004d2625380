"""document.py: records in and out (SCHEMA.md), paragraphs, language codes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classifier.document import LABELS, Block, Document, Label, Segment, normalize_lang, split_paragraphs
from classifier.errors import InputError, SchemaError

# -- from_dict / to_dict -------------------------------------------------------------


def test_blocks_as_strings_and_objects_keep_text_and_order() -> None:
    doc = Document.from_dict({"id": "a", "blocks": ["First.", {"text": "Second.", "tag": "h2"}, "Third."]})
    assert doc.id == "a"
    assert doc.texts == ["First.", "Second.", "Third."]
    assert [b.tag for b in doc.blocks] == [None, "h2", None]


def test_gold_fields_are_kept_apart_and_never_echoed() -> None:
    record = {
        "id": "g1", "lang": "en", "lang_score": 0.3, "publisher": "example.com",
        "blocks": [
            {"text": "Turkey and Russia agreed to talks.", "label": "content", "lang": "en",
             "segments": [{"start": 0, "end": 6, "lang": "tr"}]},
            {"text": "Home | World", "label": "navigation", "lang": None},
            "Share this:",
        ],
    }
    doc = Document.from_dict(record)
    assert doc.gold_labels == [Label.CONTENT, Label.NAVIGATION, None]
    assert doc.gold_lang == "en"
    # nothing was predicted, so nothing gold may come out as a prediction
    out = doc.to_dict()
    assert out["lang"] is None and out["lang_score"] is None
    assert [b["label"] for b in out["blocks"]] == [None, None, None]
    assert [b["lang"] for b in out["blocks"]] == [None, None, None]
    assert [b["segments"] for b in out["blocks"]] == [[], [], []]
    assert [b["text"] for b in out["blocks"]] == [b if isinstance(b, str) else b["text"] for b in record["blocks"]]


def test_other_record_fields_pass_through_unchanged() -> None:
    record = {"id": 7, "url": "https://example.com/a", "publisher": "example.com", "source": "crawl-3",
              "meta": {"fetched": "2024-01-02", "tags": ["a", "b"]}, "text": "One paragraph."}
    out = Document.from_dict(record).to_dict()
    assert out["id"] == 7  # the record's own id, as given (the scorer matches ids by value)
    for key in ("url", "publisher", "source", "meta"):
        assert out[key] == record[key]
    assert "text" not in out  # the text became blocks
    # the id first, wherever the record had it (SCHEMA.md's order: what `head` shows)
    moved = Document.from_dict({"url": record["url"], "source": "crawl-3", "id": 7, "text": "One."}).to_dict()
    assert list(moved)[0] == "id" and {"url", "source"} <= set(moved)


def test_predicted_fields_win_over_a_passthrough_of_the_same_name() -> None:
    doc = Document.from_dict({"id": "x", "blocks": ["Hello there."], "lang_score": 0.1})
    labelled = Document(id=doc.id, blocks=(Block("Hello there.", label=Label.CONTENT, scores=(0.9, 0.05, 0.05),
                                                  lang="en", lang_score=0.99, foreign=False),),
                        lang="en", lang_score=0.99, extra=doc.extra)
    out = labelled.to_dict()
    assert out["lang_score"] == 0.99
    block = out["blocks"][0]
    assert block["label"] == "content" and block["lang"] == "en" and block["foreign"] is False
    assert set(block["scores"]) == {lab.value for lab in LABELS}
    assert sum(block["scores"].values()) == pytest.approx(1.0, abs=1e-3)


def test_text_field_is_split_into_paragraphs() -> None:
    doc = Document.from_dict({"id": "t", "body": "Para one\nstill one.\n\nPara two."}, text_field="body")
    assert doc.texts == ["Para one\nstill one.", "Para two."]


def test_id_field_names_the_field_of_the_id() -> None:
    doc = Document.from_dict({"doc_id": "rp-7", "id": "own", "text": "x y z"}, id_field="doc_id")
    assert doc.id == "rp-7" and doc.id_given
    assert "doc_id" not in doc.extra and doc.extra["id"] == "own"  # the record's own id passes through
    assert Document.from_dict({"doc_id": 4.0, "text": "x"}, id_field="doc_id").id == 4
    without = Document.from_dict({"id": "own", "text": "x"}, default_id="f.jsonl:2", id_field="doc_id")
    assert without.id == "f.jsonl:2" and not without.id_given and without.extra == {"id": "own"}
    assert Document.from_dict({"doc_id": None, "text": "x"}, default_id="d", id_field="doc_id").id == "d"
    with pytest.raises(SchemaError, match="field 'doc_id' must be a string or integer, not dict"):
        Document.from_dict({"doc_id": {"a": 1}, "text": "x"}, id_field="doc_id")
    # the default is 'id', as before
    assert Document.from_dict({"doc_id": "rp-7", "text": "x"}, default_id="d").extra == {"doc_id": "rp-7"}


def test_missing_id_uses_the_default() -> None:
    assert Document.from_dict({"text": "x y z"}, default_id="file.jsonl:3").id == "file.jsonl:3"


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (["not", "an", "object"], "object"),
        ({"id": "a"}, "blocks"),
        ({"id": "a", "blocks": "just a string"}, "blocks"),
        ({"id": "a", "blocks": [{"label": "content"}]}, "blocks[0]"),
        ({"id": "a", "blocks": ["ok", 5]}, "blocks[1]"),
        ({"id": ["a"], "text": "x"}, "id"),
        ({"id": True, "text": "x"}, "id"),
        ({"id": "a", "text": 12}, "text"),
        ({"id": "a", "html": 12}, "field 'html' is int"),
    ],
)
def test_wrong_shapes_raise_schema_error_naming_the_field(record: object, field: str) -> None:
    with pytest.raises(SchemaError, match=field.replace("[", r"\[").replace("]", r"\]")):
        Document.from_dict(record)


def test_schema_error_is_an_input_error() -> None:
    assert issubclass(SchemaError, InputError)


def test_segment_to_dict_rounds_score_and_omits_a_missing_one() -> None:
    assert Segment(3, 9, "fr").to_dict() == {"start": 3, "end": 9, "lang": "fr"}
    assert Segment(3, 9, "fr", 0.912345).to_dict()["score"] == 0.9123


# -- split_paragraphs ----------------------------------------------------------------


def test_split_on_blank_lines_keeps_inner_line_breaks() -> None:
    text = "Title\n\nFirst line\nsecond line\n  \t \nLast one.\n"
    assert split_paragraphs(text) == ["Title", "First line\nsecond line", "Last one."]


def test_without_blank_lines_each_line_is_a_block() -> None:
    assert split_paragraphs("Home\nWorld\n\tSports  \n") == ["Home", "World", "Sports"]


def test_a_line_of_unicode_white_space_is_blank_and_unicode_separators_break() -> None:
    # a line of a non-breaking space between wrapped paragraphs made each wrapped line a
    # block; U+2029 between paragraphs did not split them (a review)
    first = "Residents of the harbour town voted on Tuesday\nto keep the old ferry running."
    second = "The council will meet again\nin the spring."
    for blank in ("\n\u00a0\n", "\n\u3000 \n", "\n\n"):
        assert split_paragraphs(f"Harbour votes{blank}{first}{blank}{second}") == ["Harbour votes", first, second]
    assert split_paragraphs(f"{first}\u2029{second}") == [first, second]
    assert split_paragraphs("Home\u2028World\x85Sports") == ["Home", "World", "Sports"]


def test_windows_and_old_mac_line_ends() -> None:
    assert split_paragraphs("One\r\n\r\nTwo\r\nstill two") == ["One", "Two\nstill two"]
    assert split_paragraphs("A\rB") == ["A", "B"]


@pytest.mark.parametrize("text", ["", "   ", "\n\n\n", " \t\r\n "])
def test_whitespace_only_gives_no_paragraphs(text: str) -> None:
    assert split_paragraphs(text) == []


def _squeeze(text: str) -> str:
    return "".join(c for c in text if not c.isspace())


@given(st.text())
def test_split_paragraphs_never_gives_empty_or_unstripped_blocks(text: str) -> None:
    for p in split_paragraphs(text):
        assert p and p == p.strip()


@given(st.text(alphabet=st.sampled_from(list("ab \t\n\r\u00a0\u2028é€")) | st.characters()))
def test_split_paragraphs_loses_no_visible_character(text: str) -> None:
    assert _squeeze("".join(split_paragraphs(text))) == _squeeze(text)


@given(st.lists(st.text(alphabet=st.characters(exclude_characters="\n\r\u2028\u2029\x85"),
                        min_size=1).filter(str.strip), min_size=1, max_size=8))
def test_paragraphs_joined_by_blank_lines_come_back(paragraphs: list[str]) -> None:
    stripped = [p.strip() for p in paragraphs]
    assert split_paragraphs("\n\n".join(stripped)) == stripped


# -- normalize_lang ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [("en", "en"), ("EN", "en"), (" fr ", "fr"), ("__label__de", "de"), ("pt-BR", "pt"), ("zh_Hant", "zh"),
     ("yue", "yue"), ("english", None), ("e", None), ("", None), ("12", None), (None, None), (5, None)],
)
def test_normalize_lang(code: object, expected: str | None) -> None:
    assert normalize_lang(code) == expected


@given(st.text())
def test_normalize_lang_gives_a_lowercase_code_or_none(code: str) -> None:
    out = normalize_lang(code)
    assert out is None or (2 <= len(out) <= 3 and out.isascii() and out.isalpha() and out.islower())


# -- properties of the record round trip ----------------------------------------------

_RESERVED = {"id", "blocks", "text", "url", "publisher", "lang", "lang_score"}
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@given(
    doc_id=st.text(min_size=1),
    texts=st.lists(st.text(), max_size=10),
    as_objects=st.booleans(),
    extra=st.dictionaries(st.text(max_size=8).filter(lambda k: k not in _RESERVED), _json_values, max_size=4),
)
def test_from_dict_keeps_texts_order_and_extra_fields(doc_id: str, texts: list[str], as_objects: bool,
                                                      extra: dict) -> None:
    blocks = [{"text": t} for t in texts] if as_objects else list(texts)
    doc = Document.from_dict({"id": doc_id, "blocks": blocks, **extra})
    assert doc.id == doc_id
    assert doc.texts == texts
    out = doc.to_dict()
    assert [b["text"] for b in out["blocks"]] == texts
    assert {k: out[k] for k in extra} == extra
    # the prediction record is plain JSON and reads back to the same document
    again = Document.from_dict(json.loads(json.dumps(out)))
    assert (again.id, again.texts, dict(again.extra)) == (doc.id, doc.texts, dict(doc.extra))
    assert again.to_dict() == out
    assert again.gold_labels == [None] * len(texts)


def test_labelled_blocks_keep_what_the_page_told_and_read_it_back() -> None:
    from classifier.document import labelled_block
    from classifier.html import DOM_FACTS, html_to_blocks

    block = html_to_blocks('<nav class="menu"><ul><li><a href="/">Home</a></li></ul></nav>')[0]
    raw = labelled_block(block, "navigation")
    assert raw["label"] == "navigation" and raw["tag"] == "li" and raw["path"] == "html body nav.menu ul li"
    back = Document.from_dict({"id": "p", "blocks": [raw]}).blocks[0]
    assert (back.text, back.tag, back.path, back.dom) == (block.text, block.tag, block.path, block.dom)
    # facts of another version (another length), or not numbers: dropped, the block is text
    for dom in ([0.0] * (len(DOM_FACTS) - 1), [True] * len(DOM_FACTS), "0 1", None, [1e308] * len(DOM_FACTS)):
        assert Document.from_dict({"id": "p", "blocks": [{**raw, "dom": dom}]}).blocks[0].dom is None
    assert labelled_block(Block("plain"), None) == {"text": "plain", "label": None}


def test_a_paragraph_of_lines_that_are_no_wrapped_text_is_cut_into_its_lines() -> None:
    # text scraped a block per line, with one blank line after the site's name: it was
    # two blocks, the second holding menus and article alike
    article = ("The council voted on Tuesday to keep the ferry running through the winter, after a debate that "
               "lasted well into the night and drew a crowd of islanders to the town hall.")
    text = f"Harbour Times\n\nHome\nNews\nSport\n{article}\nShare this story"
    assert split_paragraphs(text) == ["Harbour Times", "Home", "News", "Sport", article, "Share this story"]
    # three lines or more of very different lengths: lines, not a wrapped paragraph
    assert split_paragraphs("Title\n\nHome\nSport\nA much longer line of the page here") == [
        "Title", "Home", "Sport", "A much longer line of the page here"]
    # wrapped text keeps its line breaks, whatever the length of its last line
    wrapped = ("The council voted on Tuesday to keep the ferry running\nthrough the winter, after a debate "
               "that lasted well\ninto the night.")
    assert split_paragraphs(f"Title\n\n{wrapped}") == ["Title", wrapped]
    # a heading line above wrapped text does not make it lines
    assert split_paragraphs(f"x\n\nChapter One\n{wrapped}") == ["x", f"Chapter One\n{wrapped}"]


def test_an_html_field_holding_a_path_is_refused_and_a_whole_float_id_is_an_integer() -> None:
    from classifier.errors import SchemaError

    with pytest.raises(SchemaError, match="holds a file path"):
        Document.from_dict({"id": "p1", "html": "html/aeb/0584c2.html.gz"})
    page = Document.from_dict({"id": "p2", "html": "<html><body><p>A page as a string.</p></body></html>"})
    assert [b.text for b in page.blocks] == ["A page as a string."]
    assert Document.from_dict({"id": 3.0, "text": "x"}).id == 3  # pandas writes ids so beside a NaN
    with pytest.raises(SchemaError, match="'id'"):
        Document.from_dict({"id": 3.5, "text": "x"})


@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=3, max_size=3).filter(lambda v: sum(v) > 0))
def test_rounded_scores_still_sum_to_one_and_keep_their_top(values: list[float]) -> None:
    total = sum(values)
    scores = tuple(v / total for v in values)
    out = Block("x", scores=scores).to_dict()["scores"]  # type: ignore[arg-type]
    assert round(sum(out.values()), 4) == 1.0 and all(0.0 <= p <= 1.0 for p in out.values())
    rounded = list(out.values())
    for i in range(3):  # never in another order than the scores (the label is the top score)
        for j in range(3):
            if scores[i] > scores[j]:
                assert rounded[i] >= rounded[j]
