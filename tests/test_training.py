"""training/make_models.py: rebuilding the models into models/ or another folder."""

from __future__ import annotations

import gzip
import importlib.util
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from classifier.cards import sha256_of
from classifier.cli import cli


def _make_models(repo_root: Path):
    spec = importlib.util.spec_from_file_location("make_models", repo_root / "training" / "make_models.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_models_go_to_models_by_default(repo_root: Path) -> None:
    args = _make_models(repo_root).build_parser().parse_args([])
    assert args.out == repo_root / "models" and args.lid == repo_root / "models" / "lid.ftz"


def test_make_models_writes_a_working_model_folder_elsewhere(repo_root: Path, data_dir: Path, tmp_path: Path,
                                                             runner: CliRunner) -> None:
    lines = (data_dir / "labelled.jsonl").read_text(encoding="utf-8").splitlines()
    data = tmp_path / "data"
    data.mkdir()
    for part, chunk in (("aeb-dev", lines[:10]), ("traf-dev", lines[10:20]), ("mixed-dev", lines[20:])):
        with gzip.open(data / f"{part}.jsonl.gz", "wt", encoding="utf-8") as f:
            f.write("\n".join(chunk) + "\n")
    shipped = {p.name: p.read_bytes() for p in (repo_root / "models").iterdir()}
    out = tmp_path / "my-models"
    proc = subprocess.run([sys.executable, str(repo_root / "training" / "make_models.py"), "--data-dir", str(data),
                           "--out", str(out), "--models", "text", "--no-cv"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert {p.name: p.read_bytes() for p in (repo_root / "models").iterdir()} == shipped  # models/ untouched
    card = json.loads((out / "blocks.json").read_text())
    lid = repo_root / "models" / "lid.ftz"
    assert card["language_model"] == {"file": "lid.ftz", "sha256": sha256_of(lid)}
    assert (out / "lid.ftz").read_bytes() == lid.read_bytes() and (out / "lid.json").is_file()
    scored = runner.invoke(cli, ["score", str(data_dir / "story.txt"), "--model-dir", str(out)])
    assert scored.exit_code == 0, scored.stderr
    assert json.loads(scored.stdout)["lang"] == "en"


def test_the_language_model_is_copied_under_the_name_sieve_loads(repo_root: Path, tmp_path: Path) -> None:
    import shutil

    import pytest

    make_models = _make_models(repo_root)
    src = tmp_path / "src"
    src.mkdir()
    shutil.copyfile(repo_root / "models" / "lid.ftz", src / "lid.176.ftz")
    shutil.copyfile(repo_root / "models" / "lid.json", src / "lid.176.json")
    out = tmp_path / "out"
    make_models.copy_language_model(src / "lid.176.ftz", out)
    assert (out / "lid.ftz").read_bytes() == (src / "lid.176.ftz").read_bytes() and (out / "lid.json").is_file()
    (src / "lid.176.json").unlink()
    with pytest.raises(SystemExit, match="has no card"):
        make_models.copy_language_model(src / "lid.176.ftz", tmp_path / "out2")


def test_the_teacher_labels_only_blocks_the_gold_leaves_unlabelled(repo_root: Path) -> None:
    import numpy as np

    from classifier.document import Document

    mm = _make_models(repo_root)
    doc = Document.from_texts(["Home  News", "A long story about the harbour.", "Share this", "Read more"],
                              id="a", publisher="p.example",
                              gold=({"label": "navigation"}, {}, {}, {}))
    sure, unsure = np.array([0.05, 0.05, 0.9]), np.array([0.5, 0.1, 0.4])
    table = {("p.example", "Home News"): np.array([0.9, 0.05, 0.05]),  # gold says otherwise: the gold stays
             ("p.example", "A long story about the harbour."): np.array([0.85, 0.1, 0.05]),
             ("p.example", "Share this"): unsure,  # under TEACHER_MIN_PROBABILITY: left unlabelled
             ("q.example", "Read more"): sure}  # another publisher's block: not this one's
    assert unsure.max() < mm.TEACHER_MIN_PROBABILITY <= 0.85
    (taught,), added = mm.with_teacher_labels([doc], ["p.example"], table)
    assert added == 1
    assert [g.value if g else None for g in taught.gold_labels] == ["navigation", "content", None, None]
    assert doc.gold_labels[1] is None  # the input is not changed
    (same,), none = mm.with_teacher_labels([doc], ["q.example"], {})
    assert none == 0 and same is doc


def test_each_cross_validation_fold_trains_on_what_its_training_function_gives(labelled_documents: list) -> None:
    import numpy as np
    from conftest import TINY_PARAMS

    from classifier.model import cross_validate, publisher_groups

    docs = labelled_documents
    groups = publisher_groups(docs)
    seen: list[list[int]] = []

    def as_they_are(rows):
        seen.append(list(rows))
        return [docs[i] for i in rows], [groups[i] for i in rows]

    _, plain = cross_validate(docs, params=TINY_PARAMS, folds=3)
    _, same = cross_validate(docs, params=TINY_PARAMS, folds=3, training=as_they_are)
    assert len(seen) == 3 and all(np.array_equal(a, b) for a, b in zip(plain, same))
    for rows in seen:  # a fold's function is given its training documents only, no held-out publisher
        held = set(range(len(docs))) - set(rows)
        assert held and not {groups[i] for i in rows} & {groups[i] for i in held}

    def alternate_labels(rows):
        return ([replace(d, gold=tuple({"label": "content" if i % 2 else "navigation"} for i in range(len(d.blocks))))
                 for d in (docs[i] for i in rows)], [groups[i] for i in rows])

    _, relabelled = cross_validate(docs, params=TINY_PARAMS, folds=3, training=alternate_labels)
    assert not all(np.array_equal(a, b) for a, b in zip(plain, relabelled))


def test_a_fold_also_trains_on_documents_made_from_its_own(labelled_documents: list) -> None:
    import numpy as np
    import pytest
    from conftest import TINY_PARAMS

    from classifier.errors import ModelError
    from classifier.model import cross_validate, one_block_records, publisher_groups

    docs = labelled_documents
    groups = publisher_groups(docs)

    def with_copies(rows):  # each training document's blocks again, as records of one block
        made = [(r, groups[i]) for i in rows for r in one_block_records(docs[i])]
        return [docs[i] for i in rows] + [r for r, _ in made], [groups[i] for i in rows] + [g for _, g in made]

    _, plain = cross_validate(docs, params=TINY_PARAMS, folds=3)
    _, more = cross_validate(docs, params=TINY_PARAMS, folds=3, training=with_copies)
    assert [p.shape for p in plain] == [p.shape for p in more]  # the held-out documents only are predicted
    assert not all(np.array_equal(a, b) for a, b in zip(plain, more))

    def groups_lost(rows):
        made, made_groups = with_copies(rows)
        return made, made_groups[:len(rows)]

    with pytest.raises(ModelError, match="training hook"):
        cross_validate(docs, params=TINY_PARAMS, folds=3, training=groups_lost)


def test_cross_validation_scores_held_out_blocks_as_records_of_their_own(labelled_documents: list) -> None:
    from conftest import TINY_PARAMS

    from classifier.model import cross_validate, one_block_records

    docs = labelled_documents
    metrics, _ = cross_validate(docs, params=TINY_PARAMS, folds=3, one_block_min_chars=40)
    one = metrics["one_block_records"]
    expected = [(b.text, lab) for d in docs for b, lab in zip(d.blocks, d.gold_labels)
                if lab is not None and len(b.text) >= 40]
    assert 0 < one["records"] == len(expected) < sum(lab is not None for d in docs for lab in d.gold_labels)
    assert sum(sum(row.values()) for row in one["confusion"].values()) == len(expected)
    assert {g: sum(row.values()) for g, row in one["confusion"].items() if sum(row.values())} == {
        lab.value: sum(1 for _, g in expected if g == lab) for lab in {g for _, g in expected}}
    records = one_block_records(docs[0], 40)
    assert all(len(r.blocks) == 1 and r.blocks[0].label is None and r.gold_labels[0] is not None for r in records)
    assert [r.id for r in records] == [f"{docs[0].id}#{j}" for j, (b, lab) in enumerate(
        zip(docs[0].blocks, docs[0].gold_labels)) if lab is not None and len(b.text) >= 40]
    assert "one_block_records" not in cross_validate(docs, params=TINY_PARAMS, folds=3)[0]


def test_short_copies_are_few_labelled_pieces_of_a_document_in_its_group(repo_root: Path,
                                                                         labelled_documents: list) -> None:
    mm = _make_models(repo_root)
    docs = labelled_documents
    groups = [f"g{i % 4}" for i in range(len(docs))]
    copies, copy_groups = mm.short_copies(docs, groups, seed=0)
    again = mm.short_copies(docs, groups, seed=0)
    assert [c.id for c in again[0]] == [c.id for c in copies] and again[1] == copy_groups
    assert [c.id for c in mm.short_copies(docs, groups, seed=1)[0]] != [c.id for c in copies]
    assert copies and len(copies) == len(copy_groups)
    by_id = {d.id: (d, g) for d, g in zip(docs, groups)}
    ones: dict[str, int] = {}
    runs: dict[str, int] = {}
    for copy, group in zip(copies, copy_groups):
        if "#" in copy.id:  # one block
            source_id, j = copy.id.rsplit("#", 1)
            first, last = int(j), int(j) + 1
            assert len(copy.blocks[0].text) >= mm.ONE_BLOCK_MIN_CHARS
            ones[source_id] = ones.get(source_id, 0) + 1
        else:  # a run of consecutive blocks
            source_id, span = copy.id.rsplit("@", 1)
            first, last = map(int, span.split("-"))
            assert 2 <= last - first <= 4 and last - first < len(by_id[source_id][0].blocks)
            runs[source_id] = runs.get(source_id, 0) + 1
        source, source_group = by_id[source_id]
        assert group == source_group
        assert [b.text for b in copy.blocks] == [b.text for b in source.blocks[first:last]]
        assert list(copy.gold_labels) == list(source.gold_labels[first:last])
        assert any(lab is not None for lab in copy.gold_labels) and all(b.label is None for b in copy.blocks)
    long_enough = {d.id: sum(1 for b, lab in zip(d.blocks, d.gold_labels)
                             if lab is not None and len(b.text) >= mm.ONE_BLOCK_MIN_CHARS) for d in docs}
    assert ones == {i: min(n, mm.ONE_BLOCK_COPIES) for i, n in long_enough.items() if n}
    assert runs and max(runs.values()) <= mm.SHORT_RUNS
