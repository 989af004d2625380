"""The ``sieve`` command: parse, call the library, report. Nothing else lives here.

Exit status: 0 when every input record was handled (rejected records included:
they are reported on standard error and written to the rejects file); 1 when the
run could not be done (a model is missing or damaged, an input cannot be opened);
2 for a usage error (unknown option, missing file).
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .cards import sha256_of
from .document import LABELS, Document, Label
from .errors import ClassifierError
from .language import LanguageIdentifier
from .pipeline import LID_MODEL_FILE, Sieve, default_model_dir
from .readers import DEFAULT_MAX_BYTES, Reject, RejectSink, read_any
from .writers import JsonlWriter, rejects_path_for

F = TypeVar("F", bound=Callable[..., Any])

_LABEL_COLOURS = {Label.CONTENT: "green", Label.BOILERPLATE: "yellow", Label.NAVIGATION: "blue"}


def _model_dir_option(f: F) -> F:
    return click.option(
        "--model-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Folder with blocks.joblib and lid.ftz and their cards [default: the shipped models/].",
    )(f)


def _input_options(f: F) -> F:
    f = click.option("--max-bytes", type=click.IntRange(min=1), default=DEFAULT_MAX_BYTES, show_default=True,
                     help="Reject records (JSONL lines, text files) larger than this.")(f)
    f = click.option("--text-field", default="text", show_default=True,
                     help="JSONL field holding the text when a record has no 'blocks'.")(f)
    f = click.option("--input-format", type=click.Choice(["auto", "jsonl", "text"]), default="auto",
                     show_default=True,
                     help="How to read inputs; auto goes by extension (.jsonl[.gz] is JSONL).")(f)
    return f


_INPUTS = click.argument("inputs", nargs=-1, required=True,
                         type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="sieve")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on standard error.")
def cli(verbose: int, quiet: bool) -> None:
    """Sieve: label the blocks of scraped documents and find their languages.

    Exit status: 0 when every input record was handled (rejected records are
    reported and written to OUTPUT.rejects.jsonl, not fatal); 1 when the run
    could not be done (missing or damaged model, unreadable input); 2 for a
    usage error.
    """
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="sieve: %(levelname)s: %(message)s", stream=sys.stderr)


class _RejectReporter:
    """Prints each reject on stderr and writes it to the rejects file (if any)."""

    def __init__(self, output: str, quiet: bool = False) -> None:
        self.path = None if output == "-" else rejects_path_for(Path(output))
        self.writer = JsonlWriter(self.path, lazy=True) if self.path else None
        self.quiet = quiet
        self.sink = RejectSink(on_reject=self.report)

    def report(self, reject: Reject) -> None:
        if not self.quiet:
            click.echo(f"sieve: rejected {reject}", err=True)
        if self.writer is not None:
            self.writer.write(reject.to_dict())

    def __enter__(self) -> _RejectReporter:
        if self.writer is not None:
            self.writer.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.writer is not None:
            self.writer.__exit__(*exc)
            if self.writer.count == 0 and self.path is not None:
                self.path.unlink(missing_ok=True)  # no stale rejects from an earlier run


def _read_all(inputs: tuple[str, ...], sink: RejectSink, input_format: str, text_field: str,
              max_bytes: int) -> Iterator[Document]:
    for path in inputs:
        yield from read_any(path, sink, input_format=input_format, text_field=text_field, max_bytes=max_bytes)


@cli.command()
@_INPUTS
@click.option("-o", "--output", default="-", show_default=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Where to write; '-' is standard output. A file is written atomically.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "table"]), default="jsonl", show_default=True,
              help="jsonl: one prediction record per document (SCHEMA.md); table: a view for people.")
@_input_options
@_model_dir_option
@click.pass_context
def score(ctx: click.Context, inputs: tuple[str, ...], output: str, fmt: str, input_format: str,
          text_field: str, max_bytes: int, model_dir: Path | None) -> None:
    """Label every block of each input document and give its language.

    INPUTS are text files (one document; a block per blank-line paragraph, or per
    line when there are no blank lines), JSONL files (.jsonl, .jsonl.gz; a
    document per line, with 'blocks' or 'text'), or '-' for standard input.
    Records that cannot be used are reported and written to
    OUTPUT.rejects.jsonl; the run goes on.

    \b
    Examples:
      sieve score examples/harbour.txt
      sieve score crawl.jsonl.gz -o labelled.jsonl
      sieve score examples/harbour.txt --format table
    """
    started = time.perf_counter()
    if fmt == "table" and output != "-":  # the table is for the terminal; never drop -o silently
        raise click.UsageError("--format table writes to the terminal; drop -o, or use --format jsonl")
    quiet = logging.getLogger().level >= logging.ERROR
    try:
        sieve = Sieve(model_dir)
        sieve.check_models()
        with _RejectReporter(output, quiet) as rejects, JsonlWriter(output if fmt == "jsonl" else "-") as out:
            docs = _read_all(inputs, rejects.sink, input_format, text_field, max_bytes)

            def skip(doc: Document, err: Exception) -> None:  # a bug or pathological input: keep going
                raw = json.dumps(doc.to_dict(), ensure_ascii=False).encode("utf-8")
                rejects.sink.add(Reject(f"document {doc.id}", 0, f"internal_error:{type(err).__name__}",
                                        str(err), raw))

            for doc in sieve.label_many(docs, on_error=skip):
                if fmt == "jsonl":
                    out.write(doc.to_dict())
                else:
                    out.count += 1
                    _echo_table(doc)
    except ClassifierError as err:
        raise click.ClickException(str(err)) from err
    if not quiet:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(rejects.sink.counts.items()))
        click.echo(f"sieve score: {out.count + rejects.sink.total} documents read, {out.count} written, "
                   f"{rejects.sink.total} rejected{f' ({reasons})' if reasons else ''}"
                   f"{f' -> {rejects.path}' if rejects.sink.total and rejects.path else ''}"
                   f" in {time.perf_counter() - started:.1f} s", err=True)


def _echo_table(doc: Document) -> None:
    click.echo(click.style(f"{doc.id}", bold=True) + f"  lang={doc.lang or '-'}  blocks={len(doc.blocks)}")
    width = shutil.get_terminal_size((100, 20)).columns
    for i, b in enumerate(doc.blocks):
        label = b.label.value if b.label else "-"
        conf = max(b.scores) if b.scores else 0.0
        lang = (b.lang or "-") + ("*" if b.foreign else "")
        text = " ".join(b.text.split())
        room = max(width - 36, 20)
        head = f"{i:>4}  " + click.style(f"{label:<11}", fg=_LABEL_COLOURS.get(b.label, None) if b.label else None)
        click.echo(f"{head} {conf:4.2f}  {lang:<4}  {text[:room]}{'…' if len(text) > room else ''}")


def _read_labelled(data: tuple[str, ...], text_field: str) -> list[Document]:
    sink = RejectSink(on_reject=lambda r: click.echo(f"sieve: rejected {r}", err=True))
    docs = list(_read_all(data, sink, "jsonl", text_field, DEFAULT_MAX_BYTES))
    if not any(lab is not None for d in docs for lab in d.gold_labels):
        raise click.ClickException("no labelled blocks in the training data: blocks need a 'label' "
                                   "of content, boilerplate or navigation (SCHEMA.md)")
    return docs


@cli.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.option("-o", "--output-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write blocks.joblib, its card, and a copy of the language model.")
@click.option("--folds", type=click.IntRange(min=0), default=5, show_default=True,
              help="Publisher-grouped cross-validation folds for the report (0: none).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of every step.")
@click.option("--text-field", default="text", show_default=True, help="Field with text when a record has no 'blocks'.")
@_model_dir_option
def train(data: tuple[str, ...], output_dir: Path, folds: int, seed: int, text_field: str,
          model_dir: Path | None) -> None:
    """Train the block model on labelled JSONL documents (SCHEMA.md).

    Blocks with label null are not samples but stay as context. Prints a
    publisher-grouped cross-validation report, then trains on everything and
    writes the model with its card to OUTPUT_DIR (with a copy of the language
    model from --model-dir, so OUTPUT_DIR works as a --model-dir on its own).

    \b
    Example:
      sieve train labelled/*.jsonl.gz -o my-models/
      sieve score crawl.jsonl --model-dir my-models/
    """
    from .model import ModelParams, cross_validate, fit_block_model, save_model

    started = time.perf_counter()
    try:
        lid = (model_dir or default_model_dir()) / LID_MODEL_FILE
        language = LanguageIdentifier(lid)
        # the block model reads block languages: annotate as `sieve score` will
        docs = [language.annotate_blocks(d) for d in _read_labelled(data, text_field)]
        params = ModelParams(random_state=seed)
        publishers = {d.publisher or d.id for d in docs}
        cv: dict[str, Any] | None = None
        if folds >= 2 and len(publishers) >= 2:
            click.echo(f"cross-validating over {len(publishers)} publishers ({min(folds, len(publishers))} folds)...",
                       err=True)
            cv, _ = cross_validate(docs, params=params, folds=folds)
            click.echo(format_metrics(cv, title="publisher-grouped cross-validation"))
        elif folds >= 2:
            click.echo("only one publisher: no cross-validation report", err=True)
        model = fit_block_model(docs, params=params)
        card = {
            "training_files": [{"path": str(p), "sha256": sha256_of(Path(p))} for p in data],
            "training_documents": len(docs),
            "training_blocks": sum(lab is not None for d in docs for lab in d.gold_labels),
            "cv_metrics": _slim(cv) if cv else None,
            "language_model": {"file": LID_MODEL_FILE, "sha256": sha256_of(lid)},
        }
        path = save_model(model, output_dir, card=card)
        for f in (lid, lid.with_suffix(".json")):
            if (output_dir / f.name).resolve() != f.resolve():
                shutil.copyfile(f, output_dir / f.name)
    except ClassifierError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"sieve train: wrote {path} in {time.perf_counter() - started:.1f} s", err=True)


@cli.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option("--text-field", default="text", show_default=True, help="Field with text when a record has no 'blocks'.")
@_model_dir_option
def evaluate(data: tuple[str, ...], as_json: bool, text_field: str, model_dir: Path | None) -> None:
    """Score a model on labelled JSONL documents: per-label precision, recall and F1,
    macro-F1, content-vs-rest F1 and the confusion matrix.

    \b
    Example:
      sieve evaluate held-out.jsonl.gz --model-dir my-models/
    """
    from .model import evaluate as evaluate_documents

    try:
        docs = _read_labelled(data, text_field)
        predicted = list(Sieve(model_dir).label_many(docs))
    except ClassifierError as err:
        raise click.ClickException(str(err)) from err
    metrics = evaluate_documents(predicted, docs)
    click.echo(json.dumps(metrics, indent=2, sort_keys=True) if as_json else format_metrics(metrics))


def _slim(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: metrics[k] for k in ("per_label", "macro_f1", "content_vs_rest", "accuracy", "blocks")}


def format_metrics(m: dict[str, Any], *, title: str = "evaluation") -> str:
    """A plain-text report of ``model.evaluate`` metrics."""
    names = [lab.value for lab in LABELS]
    lines = [f"== {title}: {m['blocks']} labelled blocks",
             f"{'label':<12} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>9}"]
    for c in names:
        r = m["per_label"][c]
        lines.append(f"{c:<12} {r['precision']:9.4f} {r['recall']:9.4f} {r['f1']:9.4f} {r['support']:9d}")
    cvr = m["content_vs_rest"]
    lines.append(f"macro-F1 {m['macro_f1']:.4f}   accuracy {m['accuracy']:.4f}")
    lines.append(f"content vs rest: P {cvr['precision']:.4f} R {cvr['recall']:.4f} F1 {cvr['f1']:.4f}")
    lines.append("confusion (rows gold, columns predicted):")
    lines.append(f"{'':<12}" + "".join(f"{c:>12}" for c in names))
    for g in names:
        lines.append(f"{g:<12}" + "".join(f"{m['confusion'][g][p]:>12d}" for p in names))
    return "\n".join(lines)


def main() -> None:  # pragma: no cover - the console script
    cli()
