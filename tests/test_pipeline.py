"""pipeline.py and the shipped models end to end, including the installed `sieve` as a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from classifier.document import Document, Label
from classifier.errors import ModelError
from classifier.model import evaluate
from classifier.pipeline import Sieve, default_model_dir
from classifier.readers import RejectSink, read_any


def _run(executable: str, *args: str, stdin: bytes | None = None, cwd: Path,
         env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "SIEVE_MODEL_DIR"}
    env.update(env_extra or {})
    return subprocess.run([executable, *args], input=stdin, capture_output=True, cwd=cwd, env=env, timeout=300,
                          check=False)


def test_golden_story_with_the_shipped_model(sieve_executable: str, data_dir: Path, tmp_path: Path) -> None:
    """The seed-like case: an English news story whose last paragraph is a French
    syndication notice, scored by the installed command with the default models."""
    story = data_dir / "story.txt"
    proc = _run(sieve_executable, "score", str(story), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode("utf-8").splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    paragraphs = story.read_text(encoding="utf-8").split("\n\n")
    assert doc["id"] == "story" and doc["lang"] == "en"
    assert [b["text"] for b in doc["blocks"]] == [p.strip() for p in paragraphs]
    *english, notice = doc["blocks"]
    assert [(b["label"], b["lang"], b["foreign"]) for b in english] == [("content", "en", False)] * len(english)
    assert (notice["label"], notice["lang"], notice["foreign"]) == ("boilerplate", "fr", True)
    assert b"1 document read, 1 written, 0 rejected" in proc.stderr


def test_installed_command_reads_stdin_quietly(sieve_executable: str, tiny_model_dir: Path, tmp_path: Path) -> None:
    records = b'{"id": "p1", "blocks": ["Home", "World"]}\n{"id": "p2", "text": "One.\\n\\nTwo."}\n{oops\n'
    proc = _run(sieve_executable, "-q", "score", "-", "--model-dir", str(tiny_model_dir), stdin=records, cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stderr == b""  # -q: not even the summary or the reject
    out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [(o["id"], len(o["blocks"])) for o in out] == [("p1", 2), ("p2", 2)]


def test_installed_command_usage_error_has_no_traceback(sieve_executable: str, tmp_path: Path) -> None:
    proc = _run(sieve_executable, "score", "--bogus", "x", cwd=tmp_path)
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr and b"No such option" in proc.stderr


# -- Sieve, the library's front door ----------------------------------------------------------


def test_sieve_label_accepts_texts_or_a_document(tiny_model_dir: Path) -> None:
    sieve = Sieve(tiny_model_dir)
    texts = ["Home", "World", "A long paragraph of the story, written in plain sentences, about the harbour "
             "and the boats that leave it early every morning for the islands."]
    from_texts = sieve.label(texts)
    from_doc = sieve.label(Document.from_texts(texts, id="x"))
    assert from_texts.texts == from_doc.texts == texts
    assert [b.scores for b in from_texts.blocks] == [b.scores for b in from_doc.blocks]
    assert from_doc.id == "x" and from_doc.lang == "en"
    with pytest.raises(TypeError):
        sieve.label("one string is not a list of blocks")


def test_label_many_is_lazy_and_ordered(tiny_model_dir: Path) -> None:
    pulled: list[int] = []

    def docs():
        for i in range(7):
            pulled.append(i)
            yield Document.from_texts(["Home", f"Paragraph {i} of a story about the town and its people."], id=str(i))

    out = Sieve(tiny_model_dir).label_many(docs(), batch_size=3)
    first = next(out)
    assert first.id == "0" and pulled == [0, 1, 2]  # one batch read, not the whole input
    assert [d.id for d in out] == [str(i) for i in range(1, 7)]


def test_missing_model_folder_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="--model-dir"):
        Sieve(tmp_path / "nothing").check_models()


def test_default_model_dir_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                   repo_root: Path) -> None:
    monkeypatch.setenv("SIEVE_MODEL_DIR", str(tmp_path))
    assert default_model_dir() == tmp_path
    monkeypatch.delenv("SIEVE_MODEL_DIR")
    assert default_model_dir() == repo_root / "models"


# -- the shipped model against a quality floor -----------------------------------------------------


@pytest.mark.slow
def test_shipped_model_quality_floor_on_hand_written_pages(shipped_model_dir: Path, data_dir: Path) -> None:
    """30 hand-written pages of 6 invented publishers, none of them in the shipped
    model's training data: menus, article text, copyright and newsletter lines."""
    gold = list(read_any(data_dir / "labelled.jsonl", RejectSink()))
    predicted = list(Sieve(shipped_model_dir).label_many(gold))
    m = evaluate(predicted, gold)
    assert m["content_vs_rest"]["f1"] >= 0.85, m["confusion"]
    assert m["per_label"]["navigation"]["f1"] >= 0.85, m["confusion"]
    assert m["per_label"]["boilerplate"]["f1"] >= 0.5, m["confusion"]
    assert m["macro_f1"] >= 0.75, m["confusion"]


@pytest.mark.slow
def test_shipped_model_labels_an_obvious_page(shipped_model_dir: Path) -> None:
    doc = Sieve(shipped_model_dir).label([
        "Home", "News", "Sport", "Business", "Culture",
        "Ferry services to the northern islands will resume on Monday after engineers finished repairs to the "
        "harbour wall, which was badly damaged during the storms of early January, the port authority said.",
        "Islanders have relied on a small passenger boat for the last six weeks, and several shops reported "
        "running short of fresh milk, bread and vegetables before the weekend deliveries arrived by air.",
        "© 2024 Harbour Times Ltd. All rights reserved.",
        "Privacy policy", "Terms of use", "Contact us",
    ])
    labels = [b.label for b in doc.blocks]
    assert labels[:5] == [Label.NAVIGATION] * 5
    assert labels[5:7] == [Label.CONTENT] * 2
    assert labels[7] is Label.BOILERPLATE
    assert labels[8:].count(Label.CONTENT) == 0


def test_blocks_of_no_text_are_no_context_and_take_the_label_before_them(shipped_model_dir: Path) -> None:
    # three "" between two paragraphs of a record made both paragraphs navigation
    story = ["Residents of Port Aldwin voted on Tuesday to keep the island ferry running through the winter.",
             "The vote passed by 412 votes to 158, the highest turnout the island has seen in a decade."]
    sieve = Sieve(shipped_model_dir)
    plain = sieve.label(story)
    spaced = sieve.label(["  ", story[0], "", "", " \n ", story[1], ""])
    assert [b.label for b in plain.blocks] == [Label.CONTENT, Label.CONTENT]
    assert [(b.label, b.scores) for b in spaced.blocks[1::4]] == [(b.label, b.scores) for b in plain.blocks]
    assert [b.scores for b in spaced.blocks] == [plain.blocks[i].scores for i in (0, 0, 0, 0, 0, 1, 1)]
    assert [b.text for b in spaced.blocks][2] == ""  # every block kept in its place
    # white space at a block's ends is no part of what the models read (" Home " was read
    # with its spaces, and a leading run of no-break spaces changed labels)
    padded = sieve.label([" " + story[0] + " ", "\u00a0\u00a0\u00a0" + story[1] + "\u3000"])
    assert [b.scores for b in padded.blocks] == [b.scores for b in plain.blocks]
    from classifier.document import model_text

    assert model_text(" Prix\u00a0: 5 €") == model_text("Prix\u00a0: 5 €") == "Prix\u00a0: 5 €"
    # blocks that show nothing (a zero-width space, a soft hyphen, a NUL, a byte-order mark) likewise
    invisible = sieve.label(["\u200b", story[0], "\u00ad", "\x00", "\ufeff \u200e", story[1], "\u2060"])
    assert [b.scores for b in invisible.blocks] == [b.scores for b in spaced.blocks]


@pytest.mark.slow
@pytest.mark.parametrize("story", [
    ["दिल्ली में नई मेट्रो लाइन का उद्घाटन",
     "प्रधानमंत्री ने रविवार को दिल्ली में नई मेट्रो लाइन का उद्घाटन किया। इस लाइन से रोज़ाना लगभग दो लाख "
     "यात्रियों को लाभ मिलने की उम्मीद है।",
     "अधिकारियों ने बताया कि इस परियोजना पर लगभग छह हज़ार करोड़ रुपये खर्च हुए हैं और इसे निर्धारित समय से "
     "पहले पूरा किया गया है।",
     "होम | देश | विदेश | खेल | मनोरंजन"],
    ["รถไฟฟ้าสายใหม่เปิดให้บริการเมื่อวันจันทร์ ใช้เวลาเดินทางจากสนามบินไปยังใจกลางเมืองเพียงยี่สิบนาที "
     "ผู้โดยสารจำนวนมากต่างพอใจกับบริการใหม่นี้",
     "เจ้าหน้าที่กล่าวว่าโครงการนี้ใช้งบประมาณกว่าหมื่นล้านบาท และเสร็จก่อนกำหนดหนึ่งปี ประชาชนในพื้นที่ต่างรอคอยมานาน",
     "หน้าแรก | ข่าว | กีฬา | บันเทิง"],
], ids=["hi", "th"])
def test_shipped_model_reads_prose_of_scripts_without_latin_full_stops(shipped_model_dir: Path,
                                                                       story: list[str]) -> None:
    # a Hindi story came out navigation block for block (features version 9 split its
    # words at every vowel sign, and the danda ended no sentence); a Thai one too
    labels = [b.label for b in Sieve(shipped_model_dir).label(story).blocks]
    assert labels[-1] is not Label.CONTENT  # the menu
    assert labels[-3:-1] == [Label.CONTENT] * 2  # the two paragraphs (a short headline is a known weak spot)


def test_readme_python_example_runs(repo_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's Python API example runs as written and labels every block."""
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "classifier" in b]
    assert len(blocks) >= 2, "README.md has the ```python API examples"
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4  # three blocks, then the document language
    assert all(line.split()[0] in {"content", "boilerplate", "navigation"} for line in lines[:3])
    assert lines[1].split()[:2] == ["content", "en"] and lines[3] == "en"
    # the languages example goes on from the first (same session)
    exec(compile(blocks[1], "README.md", "exec"), namespace)  # noqa: S102
    segments = namespace["lid"].foreign_segments(namespace["text"])  # type: ignore[attr-defined]
    assert [(s.start, s.end, s.lang) for s in segments] == [(56, 116, "de")]
    capsys.readouterr()
    # the cleaning example: the story's two English paragraphs kept, the French notice and the menu removed
    exec(compile(blocks[2], "README.md", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert out.startswith("None en {") and "dropped" not in out
    assert out.splitlines()[1].startswith("Residents of Port Aldwin") and "\n\nThe vote, held" in out
    assert "Gazette" not in out.split("\n", 1)[1] and "Home | News" not in out


def test_label_refuses_what_is_no_document_with_a_clear_type_error(tiny_model_dir: Path) -> None:
    from classifier.document import Block

    sieve = Sieve(tiny_model_dir)
    cases = [([None, "hello world"], "NoneType"), ({"blocks": ["a b c"]}, "Document.from_dict"),
             ("one string", r"not str \(one text\? put it in a list"),
             (Document(id="x", blocks=(Block(None),)), "text is NoneType"),  # type: ignore[arg-type]
             (Document(id="x", blocks=("text",)), "a str among its blocks")]  # type: ignore[arg-type]
    for item, message in cases:
        with pytest.raises(TypeError, match=message):
            sieve.label(item)  # type: ignore[arg-type]


def test_label_many_names_lists_by_position_and_reports_non_documents(tiny_model_dir: Path) -> None:
    sieve = Sieve(tiny_model_dir)
    errors: list[tuple[str, str]] = []
    out = list(sieve.label_many([["Doc one is here."], ["Doc two is here."], 5, ["Doc four."]],
                                on_error=lambda doc, err: errors.append((doc.id, type(err).__name__))))
    assert [d.id for d in out] == ["doc:1", "doc:2", "doc:4"]  # the ones before the bad item are not lost
    assert errors == [("doc:3", "TypeError")]
    with pytest.raises(TypeError):
        list(sieve.label_many([["fine"], 5]))
    assert sieve.label(["Just one."]).id == "doc"
    # what is no iterable of documents fails at the call, not at the first next()
    for wrong, message in ((None, "not NoneType"), (5, "not int"), ("abc", "not str"),
                           (Document.from_texts(["a b c"], id="x"), "one document: label"),
                           ({"id": "a", "blocks": ["x"]}, r"not dict \(a record\? Document.from_dict")):
        with pytest.raises(TypeError, match=message):
            sieve.label_many(wrong)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Sieve.label takes them"):  # one document's texts given to label_many
        list(sieve.label_many(["a block", "another block"]))
    assert len(list(sieve.label_many([["a block"]], batch_size=__import__("numpy").int64(8)))) == 1
    for size in (0, -4):  # was taken as 1 without a word
        with pytest.raises(ValueError, match=f"batch_size is {size}"):
            sieve.label_many([["a block"]], batch_size=size)
    for broken, field in ((Document(id="x", blocks=None), "blocks"),  # type: ignore[arg-type]
                          (Document(id="x", blocks=(), extra=None), "extra")):  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=f"has {field} of type NoneType"):
            sieve.label(broken)


def test_library_users_get_what_to_pass(tmp_path: Path) -> None:
    # a missing folder was told as its first missing file ("lid.ftz not found; pass --model-dir"),
    # from_texts("a text") made a block per character, a label given as its name broke to_dict
    from classifier.document import Block, Label

    with pytest.raises(ModelError, match=r"model folder .*nope not found: --model-dir \(Sieve\(model_dir=\.\.\.\)\)"):
        Sieve(tmp_path / "nope").label(["Some text here."])
    with pytest.raises(TypeError, match=r"not str \(one text\? put it in a list"):
        Document.from_texts("Some text here.")
    # a set of texts has no order: the same call labelled a paragraph content or navigation
    # from one run to the next (hash seeds); a mapping is no list of texts either
    texts = {"Home | News | Sport", "Harbour town votes to keep its ferry"}
    for unordered in (texts, frozenset(texts), dict.fromkeys(texts)):
        with pytest.raises(TypeError, match="no order of its own"):
            Document.from_texts(unordered)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="no order of its own"):
        Sieve(tmp_path / "nope").label(texts)  # type: ignore[arg-type]
    # page facts made by hand: a dom of the wrong length made the document a page whose
    # facts were all read as zeros; link_chars "19" failed deep in the features
    for block, message in ((Block("x", dom=(1.0,)), "dom is not"), (Block("x", link_chars="19"), "link_chars is '19'"),  # type: ignore[arg-type]
                           (Block("x", link_chars=-3), "link_chars is -3")):
        with pytest.raises(TypeError, match=message):
            Sieve(tmp_path / "nope").label(Document(id="d", blocks=(Block("Home"), block)))
    import numpy as np

    from classifier.html import DOM_FACTS
    from classifier.pipeline import _as_document

    as_array = Document(id="d", blocks=(Block("Home", dom=np.zeros(len(DOM_FACTS)), link_chars=np.int64(4)),))  # type: ignore[arg-type]
    assert _as_document(as_array) is as_array  # a numpy array of the facts is as good as a tuple
    assert Block("x", label="navigation").to_dict()["label"] == "navigation"  # type: ignore[arg-type]
    assert Block("x", label=Label.CONTENT).to_dict()["label"] == "content"


def test_a_sieve_sent_to_a_worker_carries_no_loaded_model(tiny_model_dir: Path) -> None:
    import pickle

    sieve = Sieve(tiny_model_dir)
    before = sieve.label(["The council voted on Tuesday to build a new footbridge.", "Home | News"])
    wire = pickle.dumps(sieve)
    assert len(wire) < 20_000  # the folder and options, not megabytes of models
    again = pickle.loads(wire)
    assert again.label(["The council voted on Tuesday to build a new footbridge.", "Home | News"]) == before


def test_on_error_gets_the_callers_own_document_when_its_blocks_are_wrong(tiny_model_dir: Path) -> None:
    from classifier.document import Block

    bad = Document(id="article-2", blocks=(Block(text=b"bytes"),))  # type: ignore[arg-type]
    seen: list[str] = []
    out = list(Sieve(tiny_model_dir).label_many([["Doc one is here."], bad], on_error=lambda d, e: seen.append(d.id)))
    assert [d.id for d in out] == ["doc:1"] and seen == ["article-2"]


def test_a_missing_model_folder_says_it_came_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    monkeypatch.setenv("SIEVE_MODEL_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ModelError, match=r"nowhere \(from SIEVE_MODEL_DIR\) not found"):
        Sieve().check_models()  # as every command does before it reads its input


def test_a_relative_model_folder_means_the_directory_it_was_given_in(monkeypatch: pytest.MonkeyPatch,
                                                                     tiny_model_dir: Path, tmp_path: Path) -> None:
    # a relative folder was read against the working directory at first use: after a chdir the
    # Sieve found no models (or another folder's); a relative SIEVE_MODEL_DIR likewise
    monkeypatch.chdir(tiny_model_dir.parent)
    sieve = Sieve(tiny_model_dir.name)
    monkeypatch.setenv("SIEVE_MODEL_DIR", tiny_model_dir.name)
    from_env = Sieve()
    monkeypatch.chdir(tmp_path)
    for s in (sieve, from_env):
        assert s.model_dir == tiny_model_dir.absolute()
        labelled = s.label(["The council voted on Tuesday to keep the ferry running through the winter months."])
        assert labelled.blocks[0].label is not None
    # a relative folder that is missing still names where it came from
    monkeypatch.setenv("SIEVE_MODEL_DIR", "nowhere")
    with pytest.raises(ModelError, match=r"nowhere \(from SIEVE_MODEL_DIR\) not found"):
        Sieve().check_models()


def test_label_many_gives_the_documents_read_before_its_input_fails(tiny_model_dir: Path) -> None:
    def docs():
        for i in range(5):
            yield Document.from_texts([f"Paragraph {i} of a story about the town and its people."], id=str(i))
        raise OSError("the disk went away")

    got: list[str] = []
    with pytest.raises(OSError, match="the disk went away"):
        for doc in Sieve(tiny_model_dir).label_many(docs(), batch_size=3):
            got.append(str(doc.id))
    assert got == ["0", "1", "2", "3", "4"]  # the batch being read when it failed too, then the error
    # a document that is none fails as before, after those before it
    got.clear()
    with pytest.raises(TypeError, match="not int"):
        for doc in Sieve(tiny_model_dir).label_many([["A block of text."], 5]):
            got.append(str(doc.id))
    assert got == ["doc:1"]
