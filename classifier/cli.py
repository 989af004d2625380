"""The ``sieve`` command: parse, call the library, report. Nothing else lives here.

Exit status: 0 when every input record was handled (rejected records included:
they are reported on standard error and written to the rejects file); 1 when the
run could not be done (a model is missing or damaged, an input cannot be opened) or
was interrupted (Ctrl-C);
2 for a usage error (unknown option, missing file); 3 (``sieve clean``) when more
records were rejected than ``--max-reject-share`` allows; 141 when standard output
was closed before everything was written (``| head``), quietly.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import logging
import os
import shutil
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .cards import missing_model_file, sha256_of
from .clean import COMPRESSION_SUFFIX, DEFAULT_MIN_CHARS, PARQUET_SUFFIX, UNDETERMINED
from .document import (
    COUNTRY_CODES,
    LABELS,
    LANGUAGE_ALIASES,
    Block,
    Document,
    Label,
    Segment,
    labelled_block,
    normalize_lang,
    url_host,
)
from .errors import ClassifierError
from .language import LanguageIdentifier
from .pipeline import (
    BLOCK_MODEL_FILE,
    HTML_MODEL_FILE,
    LID_MODEL_FILE,
    MODEL_CHOICES,
    Sieve,
    adapter_summary,
    default_model_dir,
    shipped_model_dir,
)
from .readers import (
    DEFAULT_MAX_BYTES,
    FIELD_CHECK_RECORDS,
    INPUT_FORMATS,
    FieldCheck,
    Reject,
    RejectSink,
    read_any,
    shard_name_for,
)
from .writers import JsonlWriter, is_special_file, other_compression, rejects_path_for

F = TypeVar("F", bound=Callable[..., Any])

# Parquet input: Arrow's default allocator (mimalloc) holds about 26 MB more a process than
# the C library's while a shard is read; the command and its workers use the latter (set
# before pyarrow is imported; a user's own setting stands). A library user's process is
# left as it is.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

_LABEL_COLOURS = {Label.CONTENT: "green", Label.BOILERPLATE: "yellow", Label.NAVIGATION: "blue"}


def _model_option(f: F) -> F:
    f = click.option(
        "--templates", "templates_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
        help="A template memory (sieve templates learn): publishers' repeated blocks become non-content.",
    )(f)
    return click.option(
        "--model", "model_choice", type=click.Choice(list(MODEL_CHOICES)), default="auto", show_default=True,
        help="Block model: auto (the HTML model for web pages and blocks given with their DOM facts, html_ctx; "
             "the text model for text), text or html.",
    )(f)


def _sieve(model_dir: Path | None, model_choice: str, templates_path: Path | None) -> Sieve:
    from .templates import TemplateMemory

    try:
        templates = TemplateMemory.load(templates_path) if templates_path else None
    except ClassifierError as err:
        raise click.ClickException(str(err)) from err
    return Sieve(model_dir, model=model_choice, templates=templates)


def _model_dir_option(f: F) -> F:
    return click.option(
        "--model-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Folder with blocks.joblib (and html.joblib), lid.ftz and their cards [default: the shipped models/].",
    )(f)


def _text_field_option(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """``--text-field`` with its names stripped (one option however it is spaced), and
    a usage error for an empty name."""
    from .readers import text_field_names

    try:
        return text_field_names(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from err


def _id_field_option(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """``--id-field`` stripped, and a usage error for an empty name."""
    value = value.strip()
    if not value:
        raise click.BadParameter("give the name of the field that holds a record's id (id, doc_id ...)")
    return value


#: ``--id-field``, as every command that reads JSONL or Parquet records takes it.
_ID_FIELD = click.option(
    "--id-field", default="id", show_default=True, callback=_id_field_option,
    help="JSONL (Parquet) field holding a record's id (doc_id: RedPajama's; uid, warc_record_id ...): "
         "the document's id (the field itself is not passed through: not in score's output, nor in clean's "
         "metadata); a record without it (or null) is named by its file and line.")


def _input_options(f: F) -> F:
    f = click.option("--max-bytes", type=click.IntRange(min=1), default=DEFAULT_MAX_BYTES, show_default=True,
                     help="Reject records larger than this: JSONL lines (a JSON array's objects), text files, "
                          "HTML pages, WARC records (and a page's decompressed HTTP body), Parquet rows.")(f)
    f = click.option("--text-field", default="text", show_default=True, callback=_text_field_option,
                     help="JSONL field holding the text when a record has no 'blocks'; names separated by commas "
                          "(text,raw_content): the first one a record has.")(f)
    f = _ID_FIELD(f)
    f = click.option("--input-format", type=click.Choice(list(INPUT_FORMATS)), default="auto",
                     show_default=True,
                     help="How to read inputs; auto goes by the name (after .gz/.zst/.bz2/.xz): .jsonl, "
                          ".ndjson or .json JSONL, .html/.htm a page, .warc WARC, .parquet Parquet; a name "
                          "without a known extension (Spark's part-00000) by its first bytes; else text.")(f)
    return f


_INPUTS = click.argument("inputs", nargs=-1, required=True,
                         type=click.Path(exists=True, allow_dash=True, path_type=str))


#: Exit status of `sieve score`, `lang` and `clean` when more than --max-reject-share of
#: the records read were rejected.
EXIT_TOO_MANY_REJECTS = 3


def _max_reject_share_option(f: F) -> F:
    return click.option(
        "--max-reject-share", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True,
        help=f"Exit with status {EXIT_TOO_MANY_REJECTS} when more than this share of the documents read was rejected "
             "(the run still goes to its end).")(f)


def _publisher_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--publisher``'s name; a usage error for a blank one ("$SITE" unset), which
    named no publisher and was taken for none without a word."""
    if value is not None and not value.strip():
        raise click.BadParameter("the name is blank: give the publisher's name (a site's host, as news.example), "
                                 "or leave the option out")
    return value


def _publisher_option(f: F) -> F:
    return click.option(
        "--publisher", default=None, metavar="NAME", callback=_publisher_name,
        help="The publisher of every input document that names none in a 'publisher' field (else it is its "
             "url's host): whose --templates and adapter apply to it, and whose pages `templates learn` "
             "counts. For a site's pages saved as files.")(f)


def _rejects_option(f: F) -> F:
    return click.option(
        "--rejects", "rejects_path", default=None, type=click.Path(dir_okay=False), metavar="FILE",
        callback=_jsonl_output,
        help="Write the rejected records (reason and raw record) to FILE. Default: OUTPUT.rejects.jsonl beside "
             "-o OUTPUT (`clean -o DIR`: DIR/NAME.rejects.jsonl per shard, and this option is for '-' and "
             "--format text only); with standard output, only reported on standard error unless this is given.")(f)


#: Exit status when standard output is closed early (``sieve score ... | head``):
#: 128 + SIGPIPE, what a shell reports for coreutils in the same pipe.
EXIT_BROKEN_PIPE = 141


def _silence_stdout() -> None:
    """Point standard output at /dev/null: what is still buffered for the closed pipe
    is flushed there at exit, instead of raising again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError):  # no file descriptor (a test runner's stream): nothing to flush
        pass


class _SieveGroup(click.Group):
    """The ``sieve`` group: a reader that stops reading our standard output early
    (``| head``) ends the command quietly with ``EXIT_BROKEN_PIPE``, as the reader
    asked for no more: no traceback, no error message, no summary."""

    def invoke(self, ctx: click.Context) -> Any:
        previous = _stop_on_sigterm()
        try:
            return super().invoke(ctx)
        except _Terminated:
            click.echo("sieve: stopped (SIGTERM); unfinished outputs removed", err=True)
            ctx.exit(EXIT_TERMINATED)
        except BrokenPipeError:
            if not _stdout_reader_gone():
                raise  # another pipe broke (a worker's, say): a real error, not a reader's choice
            _silence_stdout()
            ctx.exit(EXIT_BROKEN_PIPE)
        finally:
            _restore_sigterm(previous)


#: Exit status after SIGTERM (``kill``, ``timeout``, a batch scheduler), as a shell reports it.
EXIT_TERMINATED = 128 + 15


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is: it stops as Ctrl-C does (outputs under way
    removed, workers stopped), then exits with ``EXIT_TERMINATED``."""


def _stop_on_sigterm() -> Any:
    """Make SIGTERM raise ``_Terminated`` while a command runs (main thread only);
    returns the handler to put back after it (``_restore_sigterm``), or None."""
    import signal
    import threading

    def stop(signum: int, frame: Any) -> None:
        raise _Terminated()

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, stop)


def _restore_sigterm(previous: Any) -> None:
    """The program that called the command (a library caller, a test runner) gets its
    own SIGTERM handling back."""
    import signal

    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _stdout_reader_gone() -> bool:
    """Whether standard output is a pipe whose reader has closed it (poll reports an
    error on the write end), as opposed to a broken pipe somewhere else."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no file descriptor (a test runner's stream)
        return False


@click.group(cls=_SieveGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="sieve")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on standard error.")
def cli(verbose: int, quiet: bool) -> None:
    """Sieve: label the blocks of scraped documents and find their languages.

    Exit status: 0 when every input record was handled (rejected records are
    reported and written to OUTPUT.rejects.jsonl, not fatal); 1 when the run
    could not be done (missing or damaged model, unreadable input) or was
    interrupted (Ctrl-C); 2 for a usage error; 3 (`score`, `lang`, `clean`,
    `evaluate`) when more records were rejected than --max-reject-share
    allows; 141 (quietly) when standard output was closed early, as by
    `sieve score ... | head`; 143 when stopped by SIGTERM (outputs under way
    removed, as after Ctrl-C).
    """
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="sieve: %(levelname)s: %(message)s", stream=sys.stderr)
    logging.getLogger().setLevel(level)  # basicConfig leaves the level of a logger that has handlers already


def _is_standard_output(path: str) -> bool:
    """Whether ``path`` (``/dev/stdout``, ``/dev/fd/1``) is this process's standard output."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False  # no such file, or a standard output with no file behind it


#: Rejects told one line each on standard error; past these, the rest are only counted
#: there (and written to the rejects file): a folder of the wrong kind of file, read as
#: JSON lines, would give a line per line of it.
SHOWN_REJECTS = 20


def _quiet() -> bool:
    """Whether ``-q`` was given: only errors on standard error."""
    return logging.getLogger().level >= logging.ERROR


#: Endings of a file's name, not a folder's: ``clean -o`` given one is told it names a folder.
_FILE_NAME_ENDINGS = (".jsonl", ".json", ".gz", ".zst", ".txt", ".parquet", ".warc")


def _note(message: str) -> None:
    """A note, a warning or a summary on standard error; none under ``-q``."""
    if not _quiet():
        click.echo(message, err=True)


class _RejectEcho:
    """Tells rejects on standard error, the first ``SHOWN_REJECTS`` one per line."""

    def __init__(self, kept_in: Path | None = None) -> None:
        self.seen = 0
        self.kept_in = kept_in

    def __call__(self, reject: Reject) -> None:
        self.seen += 1
        if self.seen <= SHOWN_REJECTS or logging.getLogger().level <= logging.INFO:  # -v: every one
            click.echo(f"sieve: rejected {reject}", err=True)
        elif self.seen == SHOWN_REJECTS + 1:
            where = (f"; each is in {self.kept_in}" if self.kept_in is not None
                     else "; `--rejects FILE` keeps each, where the command takes it")
            click.echo(f"sieve: more than {SHOWN_REJECTS} records rejected: the others are counted, not shown "
                       f"(-v shows each){where}", err=True)


class _RejectReporter:
    """Prints each reject on stderr and writes it to the rejects file (if any): none
    beside standard output or a device or named pipe (``-o /dev/null``)."""

    def __init__(self, output: str, quiet: bool = False, rejects: str | None = None) -> None:
        if rejects == "-":
            raise click.UsageError("--rejects -: the rejects would be mixed into the output; each one is reported "
                                   "on standard error already, give a file")
        if rejects is not None and output != "-" and os.path.realpath(rejects) == os.path.realpath(output):
            raise click.UsageError(f"--rejects {rejects} is the output too; give another file")
        if rejects is not None and output == "-" and _is_standard_output(rejects):
            raise click.UsageError(f"--rejects {rejects} is standard output, where the records go: the rejects "
                                   "would be mixed into them; give a file")
        if rejects is not None:  # --rejects FILE
            self.path: Path | None = None if is_special_file(rejects) else Path(rejects)
        else:
            self.path = None if output == "-" or is_special_file(output) else rejects_path_for(Path(output))
        target = rejects if rejects is not None and self.path is None else self.path  # a device: in place
        self.writer = JsonlWriter(target, lazy=True) if target else None
        self.quiet = quiet
        self.echo = _RejectEcho(self.path)
        self.sink = RejectSink(on_reject=self.report)
        #: the fields of the first records rejected for want of a text field, with the
        #: characters of their strings: where the text is (standard input is not read ahead)
        self.fields: dict[str, int] = {}
        self._looked = 0

    def report(self, reject: Reject) -> None:
        if not self.quiet:
            self.echo(reject)
        if self.writer is not None:
            self.writer.write(reject.to_dict())
        if (reject.reason == "bad_schema" and reject.detail.startswith("record has none of") and reject.raw
                and self._looked < FIELD_CHECK_RECORDS):
            self._looked += 1
            try:
                record = json.loads(reject.raw)
            except ValueError:
                return
            for key, value in record.items() if isinstance(record, dict) else ():
                self.fields[key] = self.fields.get(key, 0) + (len(value) if isinstance(value, str) else 0)

    def field_hint(self) -> str:
        """Which field the records rejected for want of a text field hold their text in,
        as advice (empty when none holds text)."""
        name = FieldCheck(self._looked, [], self.fields).likely_text_field()
        return f"; the rejected records hold their text in '{name}': --text-field {name}?" if name else ""

    def __enter__(self) -> _RejectReporter:
        if self.writer is not None:
            self.writer.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.writer is not None:
            self.writer.__exit__(*exc)
            # no stale rejects from an earlier run; a run that failed leaves what was there
            if exc[0] is None and self.writer.count == 0 and self.path is not None:
                self.path.unlink(missing_ok=True)


def _is_prediction(doc: Document) -> bool:
    """Whether ``doc`` was read from `sieve score`'s output: its blocks carry a model's
    ``scores`` (SCHEMA.md, "Prediction"), so its labels are that model's."""
    return any("scores" in g for g in doc.gold)


def _clean_texts_only(records: Iterable[Document], left_out: dict[str, int]) -> Iterator[Document]:
    """The --clean records of `sieve align` that are clean text: not web pages (their
    blocks cut from HTML), nor labelled blocks or predictions, whose every block would
    be taken for article text; those are counted in ``left_out`` by kind."""
    for rec in records:
        kind = ("web pages" if any(b.dom is not None for b in rec.blocks)
                else "predictions (blocks with scores)" if _is_prediction(rec)
                else "labelled documents" if any(g.get("label") is not None for g in rec.gold) else None)
        if kind is None:
            yield rec
        else:
            left_out[kind] = left_out.get(kind, 0) + 1


class _NothingAligned(Exception):
    """`sieve align` aligned no page: its writer is left without a new output."""


def _save_memory(memory: Any, output: Path) -> None:
    """Write a template memory; a path that cannot be written is one line, exit 1."""
    try:
        memory.save(output)
    except OSError as err:
        raise click.ClickException(f"cannot write {output}: {err.strerror or err}") from err


def _refuse_overwriting(inputs: Iterable[str | Path | None], outputs: Iterable[str | Path | None]) -> None:
    """A usage error, before anything is read or written, when an output (a rejects
    file, a report, a merged memory) is one of the command's inputs (data, a
    --templates memory): it would be written over, or removed as a stale output."""
    mine = {os.path.realpath(o) for o in outputs if o is not None and str(o) != "-"}
    for item in inputs:
        if item is not None and str(item) != "-" and os.path.realpath(item) in mine and not os.path.isdir(item):
            raise click.UsageError(f"{item} is both an input and the output: it would be written over; "
                                   "write to another file")


def _read_all(inputs: tuple[str, ...], sink: RejectSink, input_format: str, text_field: str,
              max_bytes: int, outputs: tuple[str | Path | None, ...] = (),
              publisher: str | None = None, *, id_field: str = "id") -> Iterator[Document]:
    """The documents of every input, in order (a folder: its files, recursively, in
    name order; not the command's own ``outputs``).

    Raises:
        click.UsageError: an input file is one of the ``outputs`` (it would be
            written over), or the JSONL inputs have no ``text_field``
            (``_refuse_missing_text_field``), before anything is read.
    """
    _refuse_overwriting(inputs, outputs)
    _refuse_missing_text_field(inputs, outputs, input_format, text_field, id_field=id_field)
    return _read_all_documents(inputs, sink, input_format, text_field, max_bytes, outputs, publisher,
                               id_field=id_field)


def _refuse_missing_text_field(inputs: Iterable[str], outputs: Iterable[str | Path | None], input_format: str,
                               text_field: str, select: Any = None, option: str = "--text-field",
                               id_field: str = "id", in_workers: bool = False) -> None:
    """A usage error, before a run, when none of the first records of the JSONL
    inputs has ``blocks``, ``text_field`` or ``html``: the run would reject them
    all, a corpus of a million records after hours, for a wrong --text-field
    (``option``: the option that names the field). A warning when none has the
    ``id_field`` given (not ``id``): every document would be named by file and line;
    a usage error when ``id_field`` names a field of the text (documents named by it).
    With ``in_workers`` (the inputs are read in worker processes), Parquet inputs are
    looked at in a short-lived child process: this one never holds pyarrow (a single
    input is read in this process, which then imports pyarrow anyway)."""
    from .engine import ChildDied, expand_folders, in_child_process
    from .readers import format_of

    if id_field in (*text_field.split(","), "blocks", "html"):
        raise click.UsageError(
            f"--id-field {id_field} names a field that holds a document's text ({option} {text_field}, 'blocks' or "
            "'html'): every document would be named by its text. --id-field names the field of a record's id "
            "(id, doc_id, uid ...)")
    try:
        # a look ahead: the run reads (and warns of) its inputs after
        paths = expand_folders(tuple(inputs), tuple(outputs), select, warn=False)
        parquet = input_format == "parquet" or any(format_of(path) == "parquet" for path in paths)
        if parquet and in_workers and len(paths) > 1 and _pyarrow_not_imported_but_found():
            try:
                check, no_ids = in_child_process(_field_checks, paths, input_format, text_field, id_field, True)
            except ChildDied:  # (a crash in pyarrow on a damaged file) no judgement: the run's rejects say why
                check = no_ids = None
        else:
            check, no_ids = _field_checks(paths, input_format, text_field, id_field, parquet)
    except ClassifierError as err:  # an input that cannot be read at all
        raise click.ClickException(str(err)) from err
    if no_ids is not None:
        _note(f"sieve: warning: {_none_of(no_ids)} has '{id_field}' (--id-field; their fields: "
              f"{_field_names(no_ids)}): documents without it are named by their file and line")
    if check is None:
        return
    likely = check.likely_text_field()
    hint = f": {option} {likely}?" if likely else ""
    raise click.UsageError(
        f"{_none_of(check)} has '{text_field}' (a string), 'blocks' or 'html' (their fields: "
        f"{_field_names(check)}): every record would be rejected. {option} names the field that holds the text{hint}")


def _field_checks(paths: list[str], input_format: str, text_field: str, id_field: str, parquet: bool
                  ) -> tuple[Any, Any]:
    """``_refuse_missing_text_field``'s look at the first records of ``paths``: the
    ``FieldCheck`` of a missing text field, and of a missing ``id_field`` (or None each).

    Raises:
        InputError: ``parquet`` (a Parquet input among them) and pyarrow is not installed.
    """
    from .readers import missing_id_field, missing_text_field

    if parquet:
        from .parquet import parquet_module

        parquet_module()  # Parquet without pyarrow: said now, not after the other shards
    check = missing_text_field(paths, input_format=input_format, text_field=text_field)
    no_ids = (missing_id_field(paths, input_format=input_format, id_field=id_field)
              if id_field != "id" and check is None else None)
    return check, no_ids


def _pyarrow_not_imported_but_found() -> bool:
    """Whether pyarrow is installed and this process has not imported it (a look at
    Parquet files in a child process spares it then; without pyarrow, the error is said here)."""
    import importlib.util

    if "pyarrow" in sys.modules:
        return False
    try:
        return importlib.util.find_spec("pyarrow") is not None
    except (ImportError, ValueError):
        return False


def _none_of(check: Any) -> str:
    """"no record of a.jsonl", "none of the first 100 records of a.jsonl" ...: which records a ``FieldCheck`` saw."""
    where = (check.files[0] if len(check.files) == 1
             else f"{len(check.files):,} JSONL inputs ({check.files[0]}, ...)")
    return (f"no record of {where}" if check.whole
            else f"none of the first records of {where}" if len(check.files) > 1 or check.records < FIELD_CHECK_RECORDS
            else f"none of the first {FIELD_CHECK_RECORDS} records of {where}")


def _field_names(check: Any) -> str:
    """The first dozen fields a ``FieldCheck`` saw, quoted."""
    names = list(check.fields)
    return ", ".join(f"'{n}'" for n in names[:12]) + (", ..." if len(names) > 12 else "")


def _read_all_documents(inputs: tuple[str, ...], sink: RejectSink, input_format: str, text_field: str,
                        max_bytes: int, outputs: tuple[str | Path | None, ...],
                        publisher: str | None, *, id_field: str = "id") -> Iterator[Document]:
    from .clean import named_in_folder
    from .engine import expand_folders, input_name
    from .readers import with_publisher

    for item in inputs:
        if item == "-" and _stdin_is_terminal():
            _note("sieve: reading standard input: type or paste the text, then Ctrl-D")
        paths = expand_folders((item,), outputs)
        if not paths:
            _note(f"sieve: warning: the folder {item} holds no input file")
        for path in paths:
            docs = with_publisher(read_any(path, sink, input_format=input_format, text_field=text_field,
                                           max_bytes=max_bytes, id_field=id_field), publisher)
            # a file of a sub-folder: its documents named by their path there, as `sieve clean` names them
            yield from docs if path == item else named_in_folder(docs, input_name(Path(path), Path(item)), path,
                                                                 input_format)


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):  # closed, or a test runner's stream
        return False




def _jsonl_output(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """An ``-o`` of JSON lines (``.gz``, ``.zst`` or plain, in any case): a ``.parquet``
    name would hold JSON lines that no Parquet reader, Sieve's included, can read, and
    a name of another compression (``.bz2``, ``.xz`` ...) plain JSON lines that its
    decompressor refuses."""
    if value is not None and str(value).lower().endswith(".parquet"):
        raise click.BadParameter(f"{value}: this command writes JSON lines (name it .jsonl, .jsonl.gz or .jsonl.zst); "
                                 "`sieve clean --format parquet` writes Parquet")
    suffix = other_compression(str(value)) if value is not None else None
    if suffix is not None:
        raise click.BadParameter(f"{value}: JSON lines are written plain, gzip- or zstd-compressed, not as {suffix} "
                                 "(name it .jsonl, .jsonl.gz or .jsonl.zst)")
    return value


def _jsonl_file_output(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """``_jsonl_output`` for a command that talks on standard output (`align` prints
    each page's coverage there, `review` its questions): its JSON lines go to a file,
    never to standard output, where they would be mixed with those lines."""
    if value is not None and (str(value) == "-" or _is_standard_output(str(value))):
        talk = ("each page's coverage" if ctx.info_name == "align" else "the blocks it asks about and the keys")
        raise click.BadParameter(f"{value} is standard output, where `sieve {ctx.info_name}` prints {talk}: the "
                                 "JSON lines would be mixed with them; give a file")
    return _jsonl_output(ctx, param, value)

@cli.command()
@_INPUTS
@click.option("-o", "--output", default="-", show_default=True, type=click.Path(dir_okay=False, allow_dash=True),
              callback=_jsonl_output,
              help="Where to write the JSONL; '-' is standard output. A file is written atomically. (The table "
                   "is for the terminal: redirect it, `> file`.)")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "table"]), default="jsonl", show_default=True,
              help="jsonl: one prediction record per document (README, 'Formats'); table: a view for people.")
@_max_reject_share_option
@_rejects_option
@_publisher_option
@_input_options
@_model_dir_option
@_model_option
@click.pass_context
def score(ctx: click.Context, inputs: tuple[str, ...], output: str, fmt: str, max_reject_share: float,
          rejects_path: str | None, publisher: str | None, input_format: str, text_field: str, id_field: str,
          max_bytes: int, model_dir: Path | None, model_choice: str, templates_path: Path | None) -> None:
    """Label every block of each input document and give its language.

    INPUTS are text files (one document; a block per blank-line paragraph, or per
    line when there are no blank lines or the lines are not wrapped text), JSONL
    files (.jsonl, .ndjson, .json, compressed or not; a document per line, with
    'blocks', 'text' or 'html'), Parquet files (.parquet: a row is a record,
    with pyarrow installed), HTML pages (.html, .htm), WARC files
    (.warc[.gz|.zst|.bz2|.xz]: a document per HTML response), folders of them,
    or '-' for standard input.
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
    quiet = _quiet()
    sieve = _sieve(model_dir, model_choice, templates_path)
    out, rejects = _label_inputs(sieve, inputs, output, fmt == "jsonl", input_format, text_field, max_bytes, quiet,
                                 Document.to_dict, _echo_table, publisher, rejects_path, templates_path,
                                 id_field=id_field)
    if not quiet:
        _echo_summary("score", sieve, out, rejects, started)
    _exit_if_too_many_rejects(rejects.sink.total, out.count + rejects.sink.total, max_reject_share, "score",
                              rejects.field_hint())


def _echo_summary(command: str, sieve: Sieve, out: JsonlWriter, rejects: _RejectReporter, started: float) -> None:
    """The run's summary on standard error: documents read, written and rejected (why,
    and where), records skipped; the adapter's and template memory's use."""
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(rejects.sink.counts.items()))
    skipped = ", ".join(f"{k}: {v}" for k, v in sorted(rejects.sink.skipped.items()))
    n_skipped = rejects.sink.total_skipped
    skip_note = (f", {_plural(n_skipped, 'record')} that {'is no document' if n_skipped == 1 else 'are no documents'}"
                 f" skipped ({skipped})")
    read = out.count + rejects.sink.total
    _note(f"sieve {command}: {read} document{'' if read == 1 else 's'} read, {out.count} written, "
          f"{rejects.sink.total} rejected{f' ({reasons})' if reasons else ''}"
          f"{skip_note if skipped else ''}"
          f"{f' -> {rejects.path}' if rejects.sink.total and rejects.path else ''}"
          f" in {time.perf_counter() - started:.1f} s")
    note = sieve.adapter_note(out.count)
    if note:
        _note(f"sieve {command}: {note}")
    if sieve.templates is not None:
        _note(f"sieve {command}: {sieve.templates.summary()}")


def _label_inputs(sieve: Sieve, inputs: tuple[str, ...], output: str, as_jsonl: bool, input_format: str,
                  text_field: str, max_bytes: int, quiet: bool, record: Callable[[Document], dict[str, Any]],
                  show: Callable[[Document], None], publisher: str | None = None,
                  rejects_path: str | None = None, templates_path: Path | None = None, *,
                  id_field: str = "id") -> tuple[JsonlWriter, _RejectReporter]:
    """Label every input document: write ``record(doc)`` as JSONL, or ``show`` it to a
    person; rejects reported and written beside the output. Returns the writer and
    the reporter (for their counts)."""
    try:
        reporter = _RejectReporter(output, quiet, rejects_path)
        # before the reporter is entered: its exit removes a rejects file it did not fill
        _refuse_overwriting((*inputs, templates_path), (output, reporter.path, rejects_path))
        sieve.check_models()
        with reporter as rejects, JsonlWriter(output if as_jsonl else "-") as out:
            docs = _read_all(inputs, rejects.sink, input_format, text_field, max_bytes, (output, rejects_path),
                             publisher, id_field=id_field)
            for doc in sieve.label_many(docs, on_error=_skipper(rejects)):
                if as_jsonl:
                    out.write(record(doc))
                else:
                    out.count += 1
                    show(doc)
    except ClassifierError as err:
        raise click.ClickException(str(err)) from err
    except BrokenPipeError:
        raise  # standard output closed by its reader: the group ends quietly
    except OSError as err:  # the output (or its rejects file) cannot be written: one line, exit 1
        failed = str(err.filename or "").removesuffix(".part")
        # a file where a folder should be fails on the folder: name the file that was to be written
        name = next((str(p) for p in (output, rejects_path) if p and p != "-" and failed and str(p).startswith(failed)),
                    failed or output)
        reason = err.strerror or str(err)
        if isinstance(err, (FileExistsError, NotADirectoryError)) and name != failed and os.path.isfile(failed):
            reason = os.strerror(errno.ENOTDIR)  # a file where the folder should be
        raise click.ClickException(f"cannot write {'standard output' if name == '-' else name}: {reason}") from err
    return out, rejects


#: Control characters (C0 but tab and line feed, DEL, C1) shown as ``\\xNN`` in the views for
#: people: a page's ESC sequences (an OSC title, a cursor move) went to the terminal as they were.
#: The bidirectional overrides (LRO, RLO) too, as ``\\u202e``: one showed the rest of its line
#: reversed (embeddings and isolates, which right-to-left text uses, stay).
_CONTROLS = {cp: f"\\x{cp:02x}" for cp in (*range(0x20), *range(0x7f, 0xa0)) if cp not in (0x09, 0x0a)}
_CONTROLS.update({cp: f"\\u{cp:04x}" for cp in (0x202D, 0x202E)})


def _for_terminal(text: object) -> str:
    """``text`` (a document's, read from the input) with its control characters made visible."""
    return str(text).translate(_CONTROLS)


def _echo_table(doc: Document) -> None:
    click.echo(click.style(_for_terminal(doc.id), bold=True) + f"  lang={doc.lang or '-'}  blocks={len(doc.blocks)}")
    width = shutil.get_terminal_size((100, 20)).columns
    for i, b in enumerate(doc.blocks):
        label = b.label.value if b.label else "-"
        conf = max(b.scores) if b.scores else 0.0
        lang = (b.lang or "-") + ("*" if b.foreign else "")
        text = _for_terminal(" ".join(b.text.split()))
        room = max(width - 36, 20)
        head = f"{i:>4}  " + click.style(f"{label:<11}", fg=_LABEL_COLOURS.get(b.label, None) if b.label else None)
        shown = _marked(b.text, b.segments) if b.segments else _cut_to_width(text, room)
        click.echo(f"{head} {conf:4.2f}  {lang:<4}  {shown}")


def _cut_to_width(text: str, columns: int) -> str:
    """``text`` cut to fit ``columns`` terminal columns, with "…" when cut: a Chinese,
    Japanese or Korean character takes two columns, a combining mark or a format
    character none (a row cut by characters wrapped on the terminal)."""
    if text.isascii():
        return text if len(text) <= columns else text[:columns] + "…"
    import unicodedata

    used = 0
    for i, ch in enumerate(text):
        w = (0 if unicodedata.category(ch) in ("Mn", "Me", "Cf")
             else 2 if unicodedata.east_asian_width(ch) in "WF" else 1)
        if used + w > columns:
            return text[:i] + "…"
        used += w
    return text


#: Characters of a block's text the terminal view shows around and inside each foreign
#: segment (a block of a megabyte with one segment printed whole).
MARKED_CONTEXT = 200


def _marked(text: str, segments: tuple[Segment, ...], colour: bool = True, context: int = MARKED_CONTEXT) -> str:
    """``text`` with each foreign segment shown as ``⟦lang: ...⟧``; the text around a
    segment, and a segment itself, shown to ``context`` characters at most, the rest as
    "…" (a long one keeps its start and its end)."""
    def head(part: str, n: int) -> str:  # the first n characters, to the end of a word
        return part[:n].rsplit(None, 1)[0] if " " in part[n // 2:n] else part[:n]

    def tail(part: str, n: int) -> str:
        return part[-n:].split(None, 1)[-1] if " " in part[-n:-n // 2] else part[-n:]

    def cut(part: str, keep: str) -> str:
        if len(part) <= context:
            return part
        half = context // 2
        return ("… " + tail(part, context) if keep == "end" else head(part, context) + " …" if keep == "start"
                else head(part, half) + " … " + tail(part, half))

    out, pos = [], 0
    for i, seg in enumerate(segments):
        out.append(_for_terminal(cut(text[pos:seg.start], "end" if i == 0 else "both")))
        span = f"⟦{seg.lang}: {_for_terminal(cut(text[seg.start:seg.end], 'both'))}⟧"
        out.append(click.style(span, fg="magenta", bold=True) if colour else span)
        pos = seg.end
    out.append(_for_terminal(cut(text[pos:], "start")))
    return " ".join("".join(out).split())


def _language_record(doc: Document) -> dict[str, Any]:
    return {
        "id": doc.id,
        "lang": doc.lang,
        "lang_score": None if doc.lang_score is None else round(doc.lang_score, 4),
        "blocks": len(doc.blocks),
        "foreign_blocks": [
            {"block": i, "lang": b.lang, "lang_score": round(b.lang_score or 0.0, 4), "text": b.text}
            for i, b in enumerate(doc.blocks) if b.foreign
        ],
        "segments": [
            {"block": i, **seg.to_dict(), "text": b.text[seg.start:seg.end]}
            for i, b in enumerate(doc.blocks) for seg in b.segments
        ],
    }


def _echo_languages(doc: Document, show_all: bool) -> None:
    foreign = sum(1 for b in doc.blocks if b.foreign)
    with_segments = sum(1 for b in doc.blocks if b.segments)
    main = f"{doc.lang} ({doc.lang_score:.2f})" if doc.lang and doc.lang_score is not None else "unknown"
    click.echo(click.style(_for_terminal(doc.id), bold=True) + f"  main language: {main}  blocks: {len(doc.blocks)}"
               f"  foreign blocks: {foreign}  blocks with foreign segments: {with_segments}")
    width = shutil.get_terminal_size((100, 20)).columns
    for i, b in enumerate(doc.blocks):
        if not (show_all or b.foreign or b.segments):
            continue
        lang = b.lang or "-"
        score = f"{b.lang_score:.2f}" if b.lang_score is not None else "  - "
        tag = click.style("foreign", fg="magenta") if b.foreign else "       "
        if b.segments:
            text = _marked(b.text, b.segments)
        else:
            text = _for_terminal(" ".join(b.text.split()))
            text = _cut_to_width(text, max(width - 30, 30))
        click.echo(f"{i:>4}  {lang:<4} {score}  {tag}  {text}")


@cli.command(name="lang")
@_INPUTS
@click.option("-o", "--output", default="-", show_default=True, type=click.Path(dir_okay=False, allow_dash=True),
              callback=_jsonl_output,
              help="Where to write the JSONL (--format jsonl); '-' is standard output. A file is written "
                   "atomically. (The text view is for the terminal: redirect it, `> file`.)")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help="text: a view for people; jsonl: per document its main language, foreign blocks and "
                   "segments (with their text).")
@click.option("--all", "show_all", is_flag=True, help="text: list every block, not only foreign ones and those "
                                                      "with foreign segments.")
@_max_reject_share_option
@_rejects_option
@_publisher_option
@_input_options
@_model_dir_option
@_model_option
def lang(inputs: tuple[str, ...], output: str, fmt: str, show_all: bool, max_reject_share: float,
         rejects_path: str | None, publisher: str | None, input_format: str, text_field: str, id_field: str,
         max_bytes: int, model_dir: Path | None, model_choice: str, templates_path: Path | None) -> None:
    """Show each document's main language, its blocks in another language, and the
    sentences in another language inside blocks (marked ⟦lang: ...⟧).

    Reads the same inputs as `sieve score`, which writes the same information
    (block 'lang', 'foreign', 'segments') in its JSONL.

    \b
    Examples:
      sieve lang examples/harbour.txt
      sieve lang crawl.jsonl.gz --format jsonl -o languages.jsonl
    """
    if fmt == "text" and output != "-":
        raise click.UsageError("--format text writes to the terminal; drop -o, or use --format jsonl")
    if show_all and fmt != "text":
        raise click.UsageError("--all lists every block in the text view; the JSONL gives each document's foreign "
                               "blocks and segments (every block with its language: sieve score): drop --all")
    started = time.perf_counter()
    quiet = _quiet()
    sieve = _sieve(model_dir, model_choice, templates_path)
    out, rejects = _label_inputs(sieve, inputs, output, fmt == "jsonl",
                                 input_format, text_field, max_bytes, quiet, _language_record,
                                 lambda doc: _echo_languages(doc, show_all), publisher, rejects_path,
                                 templates_path, id_field=id_field)
    if not quiet:
        _echo_summary("lang", sieve, out, rejects, started)
    _exit_if_too_many_rejects(rejects.sink.total, out.count + rejects.sink.total, max_reject_share, "lang",
                              rejects.field_hint())


def _skipper(rejects: _RejectReporter) -> Callable[[Document, Exception], None]:
    def skip(doc: Document, err: Exception) -> None:  # a bug or pathological input: keep going
        # ASCII: a file name or text may hold lone surrogates (undecodable bytes, JSON escapes)
        raw = json.dumps(doc.to_dict(), ensure_ascii=True).encode("ascii")
        rejects.sink.add(Reject(f"document {doc.id}", 0, f"internal_error:{type(err).__name__}", str(err), raw))
    return skip


#: Fewer labelled blocks than this in a before/after report: the figures are noted as weak.
FEW_BLOCKS = 50


def _refuse_unused_options(names: tuple[str, ...], why: str) -> None:
    """A usage error naming the options of ``names`` the user gave, and ``why`` they
    do nothing here: an option that silently does nothing misleads."""
    ctx = click.get_current_context()
    given = [p for p in ctx.command.params if p.name in names
             and ctx.get_parameter_source(p.name) not in (None, click.core.ParameterSource.DEFAULT)]
    if given:
        flags = ", ".join(p.opts[-1] if p.opts else str(p.name) for p in given)
        raise click.UsageError(f"{flags}: {why}")


def _not_labelled_data(path: str) -> bool:
    """A text, Markdown, HTML or WARC file: no labelled JSONL, whatever it holds."""
    return path != "-" and os.path.isfile(path) and path.lower().removesuffix(".gz").endswith(
        (".txt", ".text", ".md", ".html", ".htm", ".warc"))


def _refuse_unlabelled_inputs(data: tuple[str, ...]) -> None:
    """A file named as labelled data that cannot be (``_not_labelled_data``): a usage error."""
    named = next((d for d in data if _not_labelled_data(d)), None)
    if named is not None:
        raise click.UsageError(f"{named} is no labelled JSONL: labelled documents are JSON lines whose blocks "
                               "carry a 'label' (README, Formats; `sieve align` makes them from pages and their "
                               "clean text, `sieve review` by hand)")


def _warn_shared_ids(docs: list[Document]) -> None:
    """Warn of documents that share their id: a scorer that matches predictions to gold
    by id keeps one of each."""
    from collections import Counter

    ids = Counter(d.id for d in docs)
    shared = [i for i, n in ids.items() if n > 1]
    if shared:
        shown = ", ".join(map(str, shared[:5])) + (", ..." if len(shared) > 5 else "")
        _note(f"sieve: warning: {sum(ids[i] for i in shared)} documents share their id with another ({shown}): "
              "each counts here, but a scorer that matches documents by id keeps one of each")


def _read_labelled(data: tuple[str, ...], text_field: str, outputs: tuple[str | Path | None, ...] = (),
                   publisher: str | None = None, sink: RejectSink | None = None,
                   max_reject_share: float | None = None, shared_ids: bool = True,
                   id_field: str = "id") -> list[Document]:
    """The labelled documents of ``data``, with a line on standard error for each
    record rejected (counted in ``sink`` when given) and warnings about the labels.
    With ``max_reject_share`` (`evaluate`), data whose every record was rejected exits
    with ``EXIT_TOO_MANY_REJECTS`` as `score` does, unless the share allows it all.
    ``shared_ids=False`` leaves the warning of documents sharing an id to the caller
    (``_warn_shared_ids``), which merges `sieve review`'s corrections first."""
    unlabelled = [d for d in data if _not_labelled_data(d)]  # found in a folder the user named
    if unlabelled:
        shown = ", ".join(unlabelled[:3]) + (", ..." if len(unlabelled) > 3 else "")
        verb = "is" if len(unlabelled) == 1 else "are"
        _note(f"sieve: {_plural(len(unlabelled), 'file')} of the data folders {verb} no labelled JSONL and "
              f"{'was' if len(unlabelled) == 1 else 'were'} left out ({shown})")
        data = tuple(d for d in data if not _not_labelled_data(d))
    given: dict[str, str] = {}
    for d in data:
        if (real := os.path.realpath(d)) in given:
            _note(f"sieve: warning: {d} is given twice (as {given[real]} too): its documents count twice")
        given.setdefault(real, d)
    sink = sink or RejectSink()
    sink.on_reject = sink.on_reject or _RejectEcho()
    docs = list(_read_all(data, sink, "jsonl", text_field, DEFAULT_MAX_BYTES, outputs, publisher, id_field=id_field))
    if sink.total and docs:
        share = sink.total / (sink.total + len(docs))
        _note(f"sieve: {sink.total} of {sink.total + len(docs)} records rejected (see above): the figures are "
              f"of the other {len(docs)}" + (" -- most of the data" if share > 0.5 else ""))
    if not docs:
        if not data and unlabelled:  # pages given to train on: say what they are, not "no document read from "
            what = ("its file is a page or text" if len(unlabelled) == 1
                    else f"its {len(unlabelled):,} files are pages or text")
            raise click.ClickException(
                f"no labelled JSONL in the data: {what} ({shown}); label them first: "
                "`sieve align PAGES --clean CLEAN.jsonl` (their clean text), or "
                "`sieve review PAGES` (by hand)")
        why = (" (every record rejected)" if sink.total else " (an empty folder?)" if any(map(os.path.isdir, data))
               else f" (no record in {'it' if len(data) == 1 else 'them'})")
        if sink.total and max_reject_share is not None and max_reject_share < 1:  # read to its end, all rejected
            click.echo(f"Error: no document read from {', '.join(data)}{why}", err=True)
            sys.exit(EXIT_TOO_MANY_REJECTS)
        raise click.ClickException(f"no document read from {', '.join(data)}{why}")
    from collections import Counter

    unknown = Counter(repr(g["label"]) for d in docs for g in d.gold
                      if g.get("label") is not None
                      and not (isinstance(g["label"], str) and g["label"] in Label._value2member_map_))
    shown = ", ".join(f"{k}: {v}" for k, v in unknown.most_common(5))
    if not any(lab is not None for d in docs for lab in d.gold_labels):
        raise click.UsageError("no labelled blocks in the data: blocks need a 'label' of content, boilerplate or "
                               f"navigation (README, Formats){f'; found {shown}' if unknown else ''}")
    if unknown:  # a typo would quietly leave a label out of training or of the figures
        _note(f"sieve: warning: {sum(unknown.values())} blocks have a label that is none of content, "
              f"boilerplate, navigation ({shown}): they count as unlabelled")
    if shared_ids:
        _warn_shared_ids(docs)
    predicted = [d.id for d in docs if _is_prediction(d)]
    if predicted:  # `sieve score`'s output given as gold: the model measured, or trained, against itself
        shown = ", ".join(map(str, predicted[:5])) + (", ..." if len(predicted) > 5 else "")
        _note(f"sieve: warning: {len(predicted)} of the documents "
              f"{'is a prediction' if len(predicted) == 1 else 'are predictions'} ({shown}): their blocks carry "
              "a model's 'scores', as `sieve score` writes them, so their labels are that model's, not a "
              "person's; `sieve review` corrects them into labelled data")
    doubtful = [d.id for d in docs if isinstance(d.extra.get("align"), dict) and d.extra["align"].get("doubtful")]
    if doubtful:
        shown = ", ".join(map(str, doubtful[:5])) + (", ..." if len(doubtful) > 5 else "")
        _note(f"sieve: warning: {len(doubtful)} of the documents were aligned doubtfully by `sieve align` "
              f"({shown}): some of their labels may be wrong; `sieve align --drop-doubtful` leaves them "
              "out, `sieve review` corrects them")
    return docs


#: Files a model folder holds (models, cards, the language model's licence, an adapter;
#: a .part an interrupted save left; what file browsers leave).
_MODEL_FOLDER_SUFFIXES = (".joblib", ".json", ".ftz", ".md", ".part")
_FOLDER_CLUTTER = frozenset({"thumbs.db", "desktop.ini"})


#: The files `sieve train` may write into its -o folder.
_TRAIN_WRITES = ("blocks.joblib", "blocks.json", "html.joblib", "html.json", "lid.ftz", "lid.json", "LICENSE-lid.md",
                 "adapter.joblib", "adapter.json")


def _is_model_file(path: Path) -> bool:
    """A file a model folder holds: a model, the card beside a model (a ``.json`` of
    another name is data: JSON Lines may be named so), the language model's licence,
    an interrupted save's ``.part``."""
    if path.name.endswith(".json"):
        return path.name in _TRAIN_WRITES or any(path.with_suffix(s).is_file() for s in (".joblib", ".ftz"))
    return path.name.endswith(_MODEL_FOLDER_SUFFIXES)


def _refuse_training_into(output_dir: Path, base: bool, data: tuple[str, ...] = ()) -> None:
    """`sieve train -o` writes models over those of the folder: refuse the models that
    come with Sieve (a forgotten --base replaced them with a six-page model), a
    folder holding other files (pages, data: model files landed among them), and
    training data that is one of the files it writes."""
    mine = {os.path.realpath(output_dir / name) for name in _TRAIN_WRITES}
    overwritten = [d for d in data if d != "-" and os.path.realpath(d) in mine]
    if overwritten:
        raise click.UsageError(f"{overwritten[0]} is training data and a file `sieve train -o {output_dir}` writes: "
                               "it would be written over; move the data or write to another -o")
    shipped = shipped_model_dir()
    if output_dir.exists() and shipped.exists() and os.path.samefile(output_dir, shipped):
        raise click.UsageError(f"-o {output_dir} is the folder of the models that come with Sieve: write the new "
                               "models to another folder (and use it with --model-dir)"
                               + ("" if base else "; to adapt them to a publisher, add --base"))
    if output_dir.is_dir():
        others = sorted(p.name for p in output_dir.iterdir()
                        if not p.name.startswith(".") and p.name.lower() not in _FOLDER_CLUTTER
                        and (p.is_dir() or not _is_model_file(p)))
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise click.UsageError(f"-o {output_dir} holds other files than models ({shown}): write the models to "
                                   "an empty folder or a model folder")


@cli.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, path_type=str))
@click.option("-o", "--output-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the model (blocks.joblib; html.joblib for web pages), its card, and copies "
                   "of the language model (and, beside an HTML model, of the text model).")
@click.option("--folds", type=click.IntRange(min=0), default=5, show_default=True,
              help="Publisher-grouped cross-validation folds for the report (0: none).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="Random seed of every step.")
@click.option("--text-field", default="text", show_default=True, callback=_text_field_option,
              help="Field with text when a record has no 'blocks' (names separated by commas: the first a record has).")
@_ID_FIELD
@click.option("--base", "base_dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Adapt this model folder to the publishers of DATA instead of training from scratch.")
@click.option("--holdout-share", type=click.FloatRange(0.0, 0.9), default=0.3, show_default=True,
              help="With --base: share of DATA's pages held out for the before/after report.")
@click.option("--general", "general", multiple=True, type=click.Path(exists=True, path_type=str),
              help="With --base: labelled data of other publishers, scored before and after (repeatable).")
@_model_dir_option
def train(data: tuple[str, ...], output_dir: Path, folds: int, seed: int, text_field: str, id_field: str,
          base_dir: Path | None, holdout_share: float, general: tuple[str, ...], model_dir: Path | None) -> None:
    """Train the block model on labelled JSONL documents (README, "Formats"): the text
    model, or the HTML model when the documents are web pages whose blocks carry
    their DOM facts (as `sieve align` and `sieve review` write them, or as
    `html_ctx`: the dev data's aeb and traf records).

    Blocks with label null are not samples but stay as context. Prints a
    publisher-grouped cross-validation report, then trains on everything and
    writes the model with its card to OUTPUT_DIR (with a copy of the language
    model from --model-dir, so OUTPUT_DIR works as a --model-dir on its own).

    With --base, adapts that model folder to the publishers of DATA (a few of their
    labelled pages: see `sieve align`, `sieve review`): prints scores before and
    after on held-out pages of theirs and on --general data, and writes the base
    models plus an adapter to OUTPUT_DIR. Documents of other publishers are
    labelled exactly as by the base model.

    \b
    Examples:
      sieve train labelled/*.jsonl.gz -o my-models/
      sieve score crawl.jsonl --model-dir my-models/
      sieve train --base models/ my-site-pages.jsonl -o my-site-models/ --general dev.jsonl.gz
    """
    from .engine import expand_folders

    _refuse_unlabelled_inputs(data)
    given = data
    try:
        data = tuple(expand_folders(data, (output_dir,)))  # a folder: its files, not the output folder
    except ClassifierError as err:  # a folder that cannot be listed
        raise click.ClickException(str(err)) from err
    if not data:
        raise click.ClickException(f"no file in {', '.join(given)} (an empty folder?)")
    if folds == 1:
        raise click.UsageError("--folds 1 cannot cross-validate: give 2 or more, or 0 for no report")
    if base_dir is not None:
        _refuse_unused_options(("folds", "model_dir"), "not used with --base (the base folder is the model)")
    else:
        _refuse_unused_options(("holdout_share", "general"), "only used with --base")
    if base_dir is not None and output_dir.resolve() == base_dir.resolve():
        raise click.UsageError("-o is the --base folder: write the adapted models to another folder, so "
                               "the base models stay as they are")
    _refuse_training_into(output_dir, base=base_dir is not None, data=data)
    made = not output_dir.exists()
    try:  # before minutes of training, not after: a folder that cannot be made fails now
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise click.ClickException(f"cannot write {output_dir}: {err.strerror or err}") from err
    if not os.access(output_dir, os.W_OK | os.X_OK):
        raise click.ClickException(f"cannot write {output_dir}: {os.strerror(errno.EACCES)}")
    try:
        _train_into(data, output_dir, folds, seed, text_field, base_dir, holdout_share, general, model_dir,
                    id_field=id_field)
    except BaseException:
        if made:  # a failed run leaves no folder it made, nor the files it writes there (another's stay)
            for name in _TRAIN_WRITES:
                with contextlib.suppress(OSError):
                    (output_dir / name).unlink()
            with contextlib.suppress(OSError):
                output_dir.rmdir()
        raise


def _train_into(data: tuple[str, ...], output_dir: Path, folds: int, seed: int, text_field: str,
                base_dir: Path | None, holdout_share: float, general: tuple[str, ...],
                model_dir: Path | None, *, id_field: str = "id") -> None:
    """`sieve train` once its output folder is there: adapt (--base) or train anew."""
    if base_dir is not None:
        _adapt(base_dir, data, output_dir, text_field, holdout_share, general, seed, id_field=id_field)
        return
    from .adapt import ADAPTER_FILE

    if (output_dir / ADAPTER_FILE).exists():  # fitted on the model this would replace: every run would refuse it
        raise click.UsageError(f"{output_dir} holds a publisher adapter ({ADAPTER_FILE}) fitted on the model this "
                               "would replace; write to another -o, or remove the adapter and its card first")
    from .model import (
        ModelParams,
        cross_validate,
        fit_block_model,
        one_warning_each,
        publisher_groups,
        save_model,
    )

    started = time.perf_counter()
    try:
        source_dir = model_dir or default_model_dir()
        lid = source_dir / LID_MODEL_FILE
        language = LanguageIdentifier(lid)
        # the block model reads block languages: annotate as `sieve score` will
        docs = _training_documents(_read_labelled(data, text_field, shared_ids=False, id_field=id_field))
        if any(d.extra.get("reviewed") is True for d in docs):
            # `sieve review`'s corrections repeat pages `sieve align` labelled: one page each,
            # the corrections' labels first, as `train --base` takes them (both copies trained
            # the block's old label beside its correction, at the same weight)
            from .adapt import merge_repeated_pages

            docs, merged = merge_repeated_pages(docs)
            if merged:
                _note(f"sieve train: {_plural(merged, 'labelled page')} repeat{'s' if merged == 1 else ''} an "
                      "earlier one (same url or id, same blocks: corrections of aligned pages); their labels are "
                      "merged, sieve review's first, then the later file's")
        _warn_shared_ids(docs)  # after the merge: a correction and its page are one document
        docs = [language.annotate_blocks(d) for d in docs]
        # labelled web pages (blocks with DOM facts, as `sieve align` and `sieve review`
        # write them) train the HTML model, block text the text model
        pages = sum(1 for d in docs if d.is_page)
        if pages and pages != len(docs):
            raise click.ClickException(f"the labelled data mixes {pages} web pages (blocks with DOM facts, cut from "
                                       f"HTML or given as html_ctx, for the HTML model) and {len(docs) - pages} text "
                                       "documents (for the text model): train on one kind at a time")
        html = pages > 0
        params = ModelParams(random_state=seed, use_dom=html, container_context=html)
        publishers = set(publisher_groups(docs))
        copies = len(docs) - len({tuple(b.text for b in d.blocks) for d in docs})
        if copies:
            _note(f"sieve train: warning: {copies} documents repeat another's blocks exactly (a page crawled "
                  "twice, a copy): each counts again in training; cross-validation keeps the copies of a "
                  "document in one fold")
        from .templates import publisher_of

        unnamed = sum(1 for d in docs if not publisher_of(d))
        if unnamed:
            _note(f"sieve train: {unnamed} documents name no publisher and have no url: each is a "
                  "cross-validation group of its own, with its exact copies (pages of one site in two folds "
                  "flatter the figures)")
        cv: dict[str, Any] | None = None
        with one_warning_each():  # a warning of the data once, not again for the final fit
            if folds >= 2 and len(publishers) >= 2:
                _note(f"cross-validating over {len(publishers)} publishers "
                      f"({min(folds, len(publishers))} folds)...")
                cv, _ = cross_validate(docs, params=params, folds=folds)
                click.echo(format_metrics(cv, title="publisher-grouped cross-validation"))
            elif folds >= 2:
                _note("only one publisher: no cross-validation report")
            model = fit_block_model(docs, params=params)
        card = {
            "training_files": [{"path": os.path.abspath(p), "sha256": _data_sha256(p)} for p in data],
            "training_documents": len(docs),
            "training_blocks": sum(lab is not None for d in docs for lab in d.gold_labels),
            "cv_metrics": _slim(cv) if cv else None,
            "cv_folds": min(folds, len(publishers)) if cv else None,  # grouped by publisher (publisher_groups)
            "language_model": {"file": LID_MODEL_FILE, "sha256": sha256_of(lid)},
        }
        # the folder works as a --model-dir on its own: the language model, and beside a
        # new HTML model the text model it came with (text input still needs one); copied
        # first, so that a model is never there without them
        keep = [lid, lid.with_suffix(".json")] + [f for f in (source_dir / "LICENSE-lid.md",) if f.is_file()]
        if html and (output_dir / BLOCK_MODEL_FILE).is_file() and model_dir is None:
            pass  # the folder's own text model stays (one trained into it before): not the shipped one
        elif html and (source_dir / BLOCK_MODEL_FILE).is_file():
            keep += [source_dir / BLOCK_MODEL_FILE, (source_dir / BLOCK_MODEL_FILE).with_suffix(".json")]
        elif html and not (output_dir / BLOCK_MODEL_FILE).is_file():
            _note(f"sieve train: warning: {source_dir} has no {BLOCK_MODEL_FILE} to copy: {output_dir} labels "
                  "web pages, but text input needs a text model (train one into it, or copy one)")
        for f in keep:
            if f.suffix != ".json":  # a model file brings its card; the licence as it is
                _copy_checked(f, output_dir)
        path = save_model(model, output_dir, card=card, file_name=HTML_MODEL_FILE if html else BLOCK_MODEL_FILE)
    except ClassifierError as err:
        raise click.ClickException(str(err)) from err
    except OSError as err:  # copying the language model beside it: a full disk, a folder not writable
        raise click.ClickException(f"cannot write {err.filename or output_dir}: {err.strerror or err}") from err
    kind = f"the HTML model, from {len(docs)} labelled web pages" if html else "the text model"
    _note(f"sieve train: wrote {path} ({kind}) in {time.perf_counter() - started:.1f} s")


def _adapt(base_dir: Path, data: tuple[str, ...], output_dir: Path, text_field: str, holdout_share: float,
           general: tuple[str, ...], seed: int, *, id_field: str = "id") -> None:
    """`sieve train --base`: fit a publisher adapter, report before/after, write the folder."""
    import random

    import numpy as np

    from .adapt import ADAPTER_FILE, fit_adapter, merge_repeated_pages, save_adapter
    from .cards import read_card
    from .model import evaluate as evaluate_documents
    from .model import labels_and_scores
    from .templates import publisher_of
    from .versions import BASE_MODEL_FILES

    started = time.perf_counter()
    if base_dir.is_dir() and not (base_dir / BLOCK_MODEL_FILE).exists() \
            and not (base_dir / BLOCK_MODEL_FILE).with_suffix(".json").exists():
        # the load error's advice, --model-dir, is no option of this command
        raise click.ClickException(f"--base {base_dir} is no model folder (no {BLOCK_MODEL_FILE}): name the folder "
                                   "of the models to adapt, such as the shipped models/ or one `sieve train` wrote")
    try:
        base = Sieve(base_dir)
        base.check_models()
        if base.adapter is not None:
            raise click.ClickException(f"{base_dir} holds an adapter already; adapt its base folder instead")
        docs, merged = merge_repeated_pages(_training_documents(_read_labelled(data, text_field, shared_ids=False,
                                                                               id_field=id_field)))
        _warn_shared_ids(docs)  # after the merge: a correction and its page are one document
        _refuse_replacing_adapter(output_dir, sorted({p for d in docs if (p := publisher_of(d))}))
        if merged:
            _note(f"sieve train: {_plural(merged, 'labelled page')} repeat{'s' if merged == 1 else ''} an earlier "
                  "one (same url or id, same blocks: "
                  "corrections of aligned pages); their labels are merged, sieve review's first, then the "
                  "later file's")
        # pages labelled with their DOM facts (`sieve align` and `sieve review` of web pages
        # keep them) adapt the HTML model, block text the text model: one kind at a time
        stale = sum(1 for d in docs if any(b.path and b.dom is None for b in d.blocks))
        if stale:
            _note(f"sieve train: warning: {stale} labelled pages have block paths but no DOM facts this Sieve "
                  "reads (labelled by another version?): they adapt the text model; run `sieve align` again "
                  "to adapt the HTML model")
        kinds = sorted({base.model_kind(d) for d in docs})
        if len(kinds) > 1:
            raise click.ClickException("the labelled data mixes web pages (blocks with DOM facts, for the HTML model) "
                                       "and text blocks (for the text model): adapt on one kind at a time")
        kind = kinds[0] if kinds else "text"
        order = sorted(range(len(docs)), key=lambda i: str(docs[i].id))
        random.Random(seed).shuffle(order)
        # only pages with labels can be held out: an unlabelled one scores nothing; and
        # each publisher's own share, with a page of its own left to fit on: the adapter
        # applies to the publishers it was fitted on, a page of another is the base's
        labelled_pages = [i for i in order if any(lab is not None for lab in docs[i].gold_labels)]
        by_publisher: dict[str | None, list[int]] = {}
        for i in labelled_pages:
            by_publisher.setdefault(publisher_of(docs[i]), []).append(i)
        held_out: set[int] = set()
        if len(labelled_pages) >= 4:
            for pub, pages_of in by_publisher.items():
                if pub:  # a page that names no publisher is no adapter's: it only fits
                    held_out.update(pages_of[:min(int(round(holdout_share * len(pages_of))), len(pages_of) - 1)])
        held = [docs[i] for i in sorted(held_out)]
        fit_docs = [docs[i] for i in range(len(docs)) if i not in held_out]

        def probs_of(labelled: list[Document]) -> list[np.ndarray]:
            return [np.array([b.scores for b in d.blocks]) if d.blocks else np.zeros((0, 3)) for d in labelled]

        if not any(publisher_of(d) for d in docs):
            raise click.ClickException("the pages name no publisher (no 'publisher' field, no URL): an adapter "
                                       "applies to a publisher's documents, so it would apply to none. Give "
                                       "each record a 'publisher' (or 'url'), or label the output of `sieve "
                                       "align`, which takes them from the clean records")
        hosts = sorted({h for d in docs if d.publisher and (h := url_host(d.url)) and h != publisher_of(d)})
        if hosts:  # scored later as bare pages or url-only records, they would name these instead
            shown = ", ".join(hosts[:3]) + (", ..." if len(hosts) > 3 else "")
            _note(f"sieve train: note: the pages' urls name other hosts ({shown}) than their 'publisher' "
                  f"({', '.join(sorted({str(publisher_of(d)) for d in docs if d.publisher}))}): the adapter "
                  "applies to documents whose 'publisher' field names it (else their url's host), so give "
                  "the documents you score or clean that 'publisher' (or pass --publisher)")

        def describe(what: str, fitted: Any, pages: int, labelled: list[Document]) -> None:
            one_label = len({lab for d in labelled for lab in d.gold_labels if lab is not None}) < 2
            weights = ("no model weights (the labelled blocks are all of one label: nothing to tell apart; the "
                       "adapter remembers their texts only)" if one_label else
                       f"text-model weight {fitted.weight}, path-model weight "
                       f"{fitted.path_weight if fitted.path_model is not None else 'none (no DOM paths)'}")
            _note(f"{what} of the {kind} model for {', '.join(sorted(fitted.publishers)) or '(no publisher)'}: "
                  f"{_plural(pages, 'page')}, {_plural(fitted.blocks, 'labelled block')}, "
                  f"{_plural(len(fitted.memory), 'remembered text')}, {weights}")
            if not one_label and fitted.blocks < FEW_BLOCKS and (fitted.weight or fitted.path_weight):
                _note(f"sieve train: warning: the weights were chosen on {_plural(fitted.blocks, 'labelled block')}"
                      f", too few to tell a better adapter from luck ({FEW_BLOCKS} or more): check it on pages "
                      "you know (sieve evaluate), or label more blocks (sieve review --limit 50)")

        base_fit = list(base.label_many(fit_docs))
        adapter = fit_adapter(fit_docs, probs_of(base_fit), base_model=kind)
        describe("adapter" if not held else "adapter for the report (the pages not held out)", adapter,
                 len(fit_docs), fit_docs)
        if not held:
            most = max((len(v) for pub, v in by_publisher.items() if pub), default=0)
            few = ("none held out (--holdout-share 0)" if holdout_share == 0 else
                   f"{len(labelled_pages)} labelled pages (of {len(docs)}) are too few to hold some out (4 or more, "
                   f"--holdout-share {holdout_share})" if len(labelled_pages) < 4 else
                   f"the {sum(1 for pub in by_publisher if pub)} publishers' labelled pages are too few to hold some "
                   f"of each out ({most} at most; --holdout-share {holdout_share})")
            _note(f"sieve train: no before/after report on the publisher's pages: {few}")
        named = {pub: v for pub, v in by_publisher.items() if pub}
        single = sum(1 for v in named.values() if len(v) == 1)
        if len(named) > 2 and single > len(named) / 2:
            _note(f"sieve train: note: {single} of the {len(named)} publishers have one labelled page "
                  "each: the adapter remembers a text seen on one page for nothing. Pages of one site under "
                  "several host names (a blog platform's subdomains) are one publisher when their records "
                  "name it in 'publisher' (`sieve align --publisher NAME` does)")

        figures: dict[str, Any] = {}  # the before/after figures, for the card (`sieve models` shows them)

        def report(name: str, gold: list[Document], key: str) -> tuple[float, float]:
            before = list(base.label_many(gold))
            after = []
            for d, p in zip(before, probs_of(before)):
                labels, _ = labels_and_scores(adapter.adjust(d, p, base.model_kind(d)))
                after.append(Document(d.id, tuple(Block(b.text, label=lab) for b, lab in zip(d.blocks, labels))))
            mb, ma = evaluate_documents(before, gold), evaluate_documents(after, gold)
            present = ""
            if any(not r["support"] for r in ma["per_label"].values()):  # a label the gold never gives: F1 0
                present = (f"; over the labels present, as `sieve evaluate` says, {mb['macro_f1_present']:.4f} -> "
                           f"{ma['macro_f1_present']:.4f}")
            click.echo(f"{name}: content-vs-rest F1 {mb['content_vs_rest']['f1']:.4f} -> "
                       f"{ma['content_vs_rest']['f1']:.4f}, macro-F1 {mb['macro_f1']:.4f} -> {ma['macro_f1']:.4f} "
                       f"({ma['blocks']} labelled blocks{present})")
            if ma["blocks"] < FEW_BLOCKS:
                _note(f"sieve train: note: {ma['blocks']} labelled blocks are too few for these figures to "
                      "mean much")
            figures[key] = {"documents": len(gold), "blocks": ma["blocks"],
                            **{when: {"content_vs_rest": round(m["content_vs_rest"]["f1"], 4),
                                      "macro_f1": round(m["macro_f1"], 4)}
                               for when, m in (("before", mb), ("after", ma))}}
            return ma["content_vs_rest"]["f1"] - mb["content_vs_rest"]["f1"], ma["macro_f1"] - mb["macro_f1"]

        if held:
            shown = ", ".join(str(d.id) for d in held[:10]) + (", ..." if len(held) > 10 else "")
            cvr_gain, macro_gain = report(f"held-out pages of the publisher ({len(held)}: {shown})", held,
                                          "heldout")
            aligned = _aligned_warning(held)
            if aligned:
                _note(f"sieve train: warning: of the held-out pages, {aligned}")
            if cvr_gain < 0 or macro_gain < 0:
                _note("sieve train: warning: the adapter scores worse than the base model on the held-out pages; "
                      "it is written all the same: check the labels, or label more pages")
        if general:
            gen = _read_labelled(general, text_field, id_field=id_field)
            own = sum(1 for d in gen if publisher_of(d) in adapter.publishers)
            if own:
                _note(f"sieve train: warning: {own} of the --general documents are of the adapted publisher(s): "
                      "--general is for other publishers' pages, which the adapter must leave alone")
            report(f"general data ({len(gen)} documents)", gen, "general")
            for line in _in_sample_notes(base, general, gen):
                _note(f"sieve train: warning: {line}")
        if held:  # the adapter that is written learns from every page given
            base_all = list(base.label_many(docs))
            adapter = fit_adapter(docs, probs_of(base_all), base_model=kind)
            describe("adapter written (all the pages)", adapter, len(docs), docs)
        _compare_content_share(docs, base_all if held else base_fit, adapter, base)
        # the models the base folder labels with, each checked against its card: nothing unchecked is copied
        for name in (BLOCK_MODEL_FILE, HTML_MODEL_FILE, LID_MODEL_FILE, "LICENSE-lid.md"):
            if (base_dir / name).is_file():
                _copy_checked(base_dir / name, output_dir)
        path = save_adapter(adapter, output_dir / ADAPTER_FILE, card={
            "base": str(base_dir),
            "training_files": [{"path": os.path.abspath(p), "sha256": _data_sha256(p)} for p in data],
            "base_model_sha256": read_card(output_dir / BASE_MODEL_FILES[kind]).get("sha256"),
            # before (the base model) and after (an adapter fitted without the held-out pages)
            "heldout": figures.get("heldout"), "general": figures.get("general"),
            "seconds": round(time.perf_counter() - started, 1)})
    except ClassifierError as err:
        raise click.ClickException(str(err)) from err
    except OSError as err:  # copying the base models: a full disk, a folder not writable
        raise click.ClickException(f"cannot write {err.filename or output_dir}: {err.strerror or err}") from err
    _note(f"sieve train: wrote {path} (with the base models) in {time.perf_counter() - started:.1f} s")


def _compare_content_share(docs: list[Document], labelled: list[Document], adapter: Any, base: Sieve) -> None:
    """Say how much of the given pages' text (every block, labelled or not) the base
    model and the adapter call content, with a warning when the adapter keeps less
    than half or more than twice as much: labels aligned to an excerpt of each article
    (`sieve align`'s doubtful pages) teach an adapter to drop most of it, which the
    held-out figures, scored against the same labels, do not show."""
    import numpy as np

    from .model import labels_and_scores

    before = after = total = 0
    for d in labelled:
        probs = np.array([b.scores for b in d.blocks]) if d.blocks else np.zeros((0, 3))
        adjusted, _ = labels_and_scores(adapter.adjust(d, probs, base.model_kind(d)))
        for b, lab in zip(d.blocks, adjusted):
            n = len(b.text)
            total += n
            before += n if b.label is Label.CONTENT else 0
            after += n if lab is Label.CONTENT else 0
    if not total:
        return
    _note(f"sieve train: of the text of the {_plural(len(docs), 'page')} given, the base model labels "
          f"{before / total:.0%} content, the adapter {after / total:.0%}")
    if before and (after < before / 2 or after > before * 2):
        _note(f"sieve train: warning: the adapter labels {'less than half' if after < before else 'over twice'} "
              "the text the base model does content: check the labels (pages `sieve align` called doubtful "
              "label an excerpt of the article, and the rest of it non-content), or label with `sieve review`")


def _plural(n: int, word: str) -> str:
    """``n`` and ``word``, with an "s" unless ``n`` is 1: "1 page", "3 pages"."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _copy_checked(src: Path, output_dir: Path) -> None:
    """Copy ``src`` into ``output_dir``: a model file (and its card) only when it
    matches its card, and the very bytes that were checked; another file (a licence)
    as it is. Each is written under a temporary name and renamed into place.

    Raises:
        ModelError: the model file or its card is missing, or they do not match.
        OSError: a file cannot be written.
    """
    from .cards import card_path, card_text, check_card_file, read_verified

    if (output_dir / src.name).resolve() == src.resolve():
        return
    files: list[tuple[Path, bytes]]
    if src.suffix in (".joblib", ".ftz"):
        card, data = read_verified(src)
        check_card_file(src, card)
        # the card that was checked, not the file read again
        files = [(src, data), (card_path(src), card_text(card).encode("utf-8"))]
    else:
        files = [(src, src.read_bytes())]
    parts = [output_dir / (path.name + ".part") for path, _ in files]
    try:  # every file whole under its temporary name before any is renamed: a model never beside another's card
        for part, (_, data) in zip(parts, files):
            part.write_bytes(data)
        for part, (path, _) in zip(parts, files):
            part.replace(output_dir / path.name)
    finally:
        for part in parts:
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)


def _data_sha256(path: str) -> str | None:
    """The sha256 of a training file for its model card; None for what cannot be read
    again to hash it (a pipe, standard input: it was read once, for training)."""
    return sha256_of(Path(path)) if os.path.isfile(path) else None


def _refuse_replacing_adapter(output_dir: Path, publishers: list[str]) -> None:
    """`sieve train --base -o` over a folder holding an adapter for other publishers
    would replace it without a word (an adapter is for the publishers of one run):
    refuse. The same publishers again is a redo, and goes on."""
    from .adapt import ADAPTER_FILE
    from .cards import read_card

    path = output_dir / ADAPTER_FILE
    if not path.is_file():
        return
    try:
        before = sorted(str(p) for p in _card_list(read_card(path), "publishers"))
    except ClassifierError:
        before = []
    if before != publishers:
        def listed(names: list[str], none: str) -> str:
            return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "") if names else none

        raise click.ClickException(
            f"{output_dir} holds an adapter for {listed(before, 'other publishers')}; this run's data is of "
            f"{listed(publishers, 'no publisher')}, and its adapter would replace it: write to another -o, "
            f"or give the pages of every publisher in one run, or remove {ADAPTER_FILE} and its card first")


@cli.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, allow_dash=True, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write one self-contained HTML page: the metrics and charts of all the documents, and the "
                   "first 200 documents (20,000 blocks, 5,000 characters of each) block by block.")
@click.option("--text-field", default="text", show_default=True, callback=_text_field_option,
              help="Field with text when a record has no 'blocks' (names separated by commas: the first a record has).")
@_ID_FIELD
@_publisher_option
@_max_reject_share_option
@_model_dir_option
@_model_option
def evaluate(data: tuple[str, ...], as_json: bool, report_path: Path | None, text_field: str, id_field: str,
             publisher: str | None, max_reject_share: float, model_dir: Path | None, model_choice: str,
             templates_path: Path | None) -> None:
    """Score a model on labelled JSONL documents: per-label precision, recall and F1,
    macro-F1, content-vs-rest F1 and the confusion matrix. Records that cannot be read
    are left out of the figures (each said on standard error, counted under
    "rejected" with --json); past --max-reject-share of them, the exit status is 3.

    \b
    Examples:
      sieve evaluate held-out.jsonl.gz --model-dir my-models/
      sieve evaluate held-out.jsonl.gz --report report.html
    """
    from .model import evaluate as evaluate_documents

    _refuse_unlabelled_inputs(data)
    if report_path is not None:
        if str(report_path) == "-":
            raise click.UsageError("--report - : the report is a page to open, written to a file; name one")
        _check_writable(report_path)  # before the scoring, not after it
    try:
        _refuse_overwriting((templates_path,), (report_path,))
        sieve = _sieve(model_dir, model_choice, templates_path)
        sieve.check_models()  # a model that cannot label fails before the data is read
        sink = RejectSink()
        docs = _read_labelled(data, text_field, (report_path,), publisher, sink, max_reject_share, id_field=id_field)
        predicted = list(sieve.label_many(docs))
        note = sieve.adapter_note(len(predicted))
        if note:
            _note(f"sieve evaluate: {note}")
        if sieve.templates is not None:
            _note(f"sieve evaluate: {sieve.templates.summary()}")
        models = _models_line(sieve, predicted)
        in_sample = _in_sample_notes(sieve, data, predicted)
    except ClassifierError as err:
        raise click.ClickException(str(err)) from err
    metrics = evaluate_documents(predicted, docs)
    # what the figures are of: the documents read, and the records left out of them
    read = {"documents": len(docs), "rejected": dict(sorted(sink.counts.items()))}
    click.echo(json.dumps({**metrics, "data": read}, indent=2, sort_keys=True) if as_json
               else format_metrics(metrics))
    for line in in_sample:
        _note(f"sieve evaluate: warning: {line}")
    aligned = _aligned_warning(docs)
    if aligned:
        _note(f"sieve evaluate: warning: {aligned}")
    if in_sample:
        models += "; in-sample: " + " ".join(in_sample)
    if aligned:  # the page is what people are shown: its boilerplate and navigation figures are the model's own
        models += "; weak labels: " + aligned
    if report_path is not None:
        from .report import write_report

        try:
            write_report(report_path, predicted, docs, models=models,
                         title=f"Sieve evaluation: {', '.join(Path(d).name for d in data)}")
        except OSError as err:
            raise click.ClickException(f"cannot write {report_path}: {err.strerror or err}") from err
        from .report import left_out

        docs_out, blocks_out = left_out(predicted)
        shown = (f" (block by block: the first {len(predicted) - docs_out:,} documents; {blocks_out:,} blocks left "
                 "out there, counted in the figures)" if docs_out or blocks_out else "")
        _note(f"sieve evaluate: wrote {report_path}{shown}")
    _exit_if_too_many_rejects(sink.total, sink.total + len(docs), max_reject_share, "evaluate")


def _training_documents(docs: list[Document]) -> list[Document]:
    """Labelled documents to train on without their blank blocks: labelling leaves them
    out of every block's context, so training does too (``without_blank_blocks``; as
    ``BlockModel.fit`` does, but cross-validation and the adapters see these too)."""
    from .document import without_blank_blocks

    return [without_blank_blocks(d)[0] for d in docs]


def _aligned_warning(docs: list[Document]) -> str | None:
    """What figures scored against ``docs`` mean when some are `sieve align` output
    no person reviewed: align labels content from the clean text, the other blocks as
    the model it ran with finds more likely (None when there are none). A page merged
    with a person's corrections (``merge_repeated_pages``, which marks the labels a person
    gave) is one too: the blocks no one answered keep align's labels; a page marked
    ``reviewed`` without such marks is a person's labels throughout."""
    from .adapt import persons_labels

    left, corrected_n = 0, 0  # pages with labels align gave, and those of them a person corrected
    for d in docs:
        if "align" in d.extra:
            persons = [p for p, g in zip(persons_labels(d), d.gold) if g.get("label") is not None]
            if d.extra.get("reviewed") is not True or not all(persons):
                left += 1
                corrected_n += any(persons)
    aligned = left
    if not aligned:
        return None
    which = ("the document is" if len(docs) == 1 else f"all {len(docs):,} documents are" if aligned == len(docs)
             else f"{aligned:,} of the {len(docs):,} documents {'is' if aligned == 1 else 'are'}")
    also = (f" ({corrected_n:,} with a person's corrections of some blocks)" if corrected_n and len(docs) > 1
            else " (with a person's corrections of some blocks)" if corrected_n else "")
    return (f"{which} `sieve align` output{also}, whose blocks other than "
            "content carry the boilerplate or navigation label of the model align ran with: these figures tell "
            "content from the rest, not boilerplate from navigation")


def _in_sample_notes(sieve: Sieve, data: tuple[str, ...], predicted: list[Document]) -> list[str]:
    """A line for each data file a model that labelled ``predicted`` was trained on
    (its card names the file's sha256): its figures are in-sample, far above what
    the model does on publishers it has not seen; the line gives the card's
    cross-validated figures for that file, where it has them."""
    from .adapt import ADAPTER_FILE
    from .cards import read_card
    from .engine import expand_folders

    trained: dict[str, tuple[str, dict[str, Any]]] = {}  # sha256 -> (model file, its card)
    names = {HTML_MODEL_FILE if sieve.model_kind(d) == "html" else BLOCK_MODEL_FILE for d in predicted}
    if (sieve.model_dir / ADAPTER_FILE).is_file():
        names.add(ADAPTER_FILE)
    for name in sorted(names):
        card = read_card(sieve.model_dir / name)
        for entry in _card_list(card, "training_files"):
            if isinstance(entry, dict) and isinstance(entry.get("sha256"), str):
                trained.setdefault(entry["sha256"], (name, card))
    if not trained:
        return []
    lines = []
    for path in dict.fromkeys(expand_folders(data, warn=False)):  # read (and warned of) already
        if path == "-" or not os.path.isfile(path):
            continue
        try:
            found = trained.get(sha256_of(Path(path)))
        except OSError:
            continue
        if found is None:
            continue
        name, card = found
        stem = shard_name_for(Path(path).name)
        cv = card.get("cv")
        figures = ((cv.get(stem) or cv.get("all_parts")) if isinstance(cv, dict) else None) or card.get("cv_metrics")
        shown = _cv_figures(figures)
        told = (f"; with its publishers held out (cross-validation, in the card) it scores {shown}"
                if shown else "")
        unseen = "pages of its publisher it has not seen" if name == ADAPTER_FILE else "publishers it has not seen"
        lines.append(f"{path} is a file {name} was trained on (its card says so): these figures are in-sample, "
                     f"above what the model does on {unseen}{told}.")
    return lines


#: What ``sieve models`` says each model file of a folder is, in the order it shows them.
_MODEL_ROLES = ((BLOCK_MODEL_FILE, "text model", True), (HTML_MODEL_FILE, "HTML model", False),
                (LID_MODEL_FILE, "language model", True), ("adapter.joblib", "publisher adapter", False))


#: The fields of a model card that hold lists, with what their items must be: `sieve
#: models` lists them (the files a model was trained on, an adapter's publishers).
_CARD_LISTS: tuple[tuple[str, type, str], ...] = (("training_files", dict, "objects ({\"path\", \"sha256\"})"),
                                                  ("publishers", str, "names"))


def _card_list(card: dict[str, Any], field: str) -> list[Any]:
    """The list a card's ``field`` holds; empty when it holds none (missing, or
    malformed: ``_malformed_card_field`` says which)."""
    value = card.get(field)
    return value if isinstance(value, list) else []


def _malformed_card_field(path: Path, card: dict[str, Any]) -> str | None:
    """Why the card of ``path`` is malformed for `sieve models` (a field of
    ``_CARD_LISTS`` that is no list of what it holds), or None: a warning, as these
    fields only describe the model."""
    from .cards import card_path

    for field, kind, what in _CARD_LISTS:
        value = card.get(field)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, kind) for v in value)):
            shown = json.dumps(value, ensure_ascii=False)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            return (f"model card {card_path(path)} is malformed: its '{field}' is {shown}, not a list of {what} "
                    "(it only describes the model, which loads; restore the card or retrain)")
    return None


def _check_model_file(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(the card of ``path``, None) when the file matches its card and this Sieve can
    load it, else (the card if it could be read, why not): the checks loading makes,
    without loading anything (no scikit-learn import). A card field that only
    describes the model (``_malformed_card_field``) is no reason: runs load it."""
    from .cards import check_card_file, read_card, verify_file
    from .versions import check_adapter_card, check_block_model_card

    card: dict[str, Any] | None = None
    try:
        card = read_card(path)
        card = verify_file(path)
        if path.name in (BLOCK_MODEL_FILE, HTML_MODEL_FILE):
            check_block_model_card(path, card)
        elif path.suffix == ".joblib":  # the publisher adapter: fitted on the folder's model
            check_adapter_card(path, card, path.parent)
        else:
            check_card_file(path, card)
    except ClassifierError as err:
        return card, str(err)
    return card, None


def _cv_figures(metrics: Any) -> str | None:
    """``content-vs-rest 0.860, macro-F1 0.795`` from a card's cross-validated metrics
    (``make_models.py`` writes ``content_vs_rest_f1``, `sieve train` ``content_vs_rest``),
    or None when they are not there."""
    if not isinstance(metrics, dict):
        return None
    whole = metrics.get("content_vs_rest")
    cvr = metrics.get("content_vs_rest_f1", whole.get("f1") if isinstance(whole, dict) else None)
    macro = metrics.get("macro_f1")
    return (f"content-vs-rest {cvr:.3f}, macro-F1 {macro:.3f}"
            if isinstance(cvr, float) and isinstance(macro, float) else None)


def _card_lines(name: str, card: dict[str, Any]) -> list[str]:
    """What a person wants to know of a model from its card, a few lines."""
    lines = []
    if card.get("kind") == "fasttext-language-id":
        lines.append(f"{card.get('name', name)}: {card.get('languages', '?')} languages; licence "
                     f"{card.get('licence', '?')} ({card.get('licence_file', 'no licence file named')}); "
                     f"{card.get('source', '')}".rstrip("; "))
    else:
        made = ["made"]
        if card.get("created"):
            made.append(str(card["created"])[:10])
        if card.get("sieve_version"):
            made.append(f"by sieve {card['sieve_version']}")
        if card.get("sklearn_version"):
            made.append(f"with scikit-learn {card['sklearn_version']}")
        if card.get("features_version") is not None:
            made.append(f"(features version {card['features_version']})")
        if card.get("training_recipe"):
            made.append(f"by running {card['training_recipe']}")
        if len(made) > 1:
            lines.append(" ".join(made))
        files = [f"{f['pages']:,} pages under {str(f.get('path', '?')).split()[0]}"
                 if isinstance(f.get("pages"), int) else Path(str(f.get("path", "?"))).name
                 for f in _card_list(card, "training_files") if isinstance(f, dict)]
        def count(value: Any) -> str:
            return f"{value:,}" if isinstance(value, int) else str(value)

        what = []
        if card.get("training_documents") is not None:
            what.append(f"{count(card['training_documents'])} documents")
        if card.get("training_blocks") is not None:
            what.append(f"{count(card['training_blocks'])} labelled blocks")
        if card.get("kind") == "publisher-adapter":
            publishers = ", ".join(str(p) for p in _card_list(card, "publishers"))
            what = [f"{card.get('pages', '?')} pages of {publishers or 'no publisher'}",
                    f"{card.get('blocks', '?')} labelled blocks", f"adjusts the {card.get('base_model', '?')} model"]
        if what or files:
            lines.append("trained on " + ", ".join(what) + (f" from {', '.join(files)}" if files else ""))
        cv = card.get("cv")
        if isinstance(cv, dict):
            parts = [f"{part} {f}" for part, m in sorted(cv.items()) if part != "all_parts" and (f := _cv_figures(m))]
            for key, label in (("aeb_token_f1_without_headline", "AEB token F1 without headline"),
                               ("aeb_token_f1_with_headline", "with headline")):
                if isinstance(cv.get(key), dict) and isinstance(cv[key].get("f1"), float):
                    parts.append(f"{label} {cv[key]['f1']:.3f}")
            if parts:
                lines.append(f"cross-validated ({cv.get('folds', '?')} folds, grouped by "
                             f"{cv.get('grouped_by', 'publisher')}): " + "; ".join(parts))
        elif (f := _cv_figures(card.get("cv_metrics"))) is not None:
            scored, labelled = card["cv_metrics"].get("blocks"), card.get("training_blocks")
            if isinstance(scored, int) and isinstance(labelled, int) and scored < labelled:
                # folds whose training publishers held one label only were not scored
                f += f" (over {scored:,} of the {labelled:,} labelled blocks: the other folds could not be scored)"
            lines.append(f"cross-validated ({card.get('cv_folds', '?')} folds, grouped by publisher): {f}")
        elif card.get("kind") != "publisher-adapter":
            lines.append("no cross-validated figures in its card (trained with --folds 0, or one publisher)")
        else:
            lines.extend(_adapter_figures(card))
    lines.append(f"sha256 {card.get('sha256', '?')}")
    return lines


def _adapter_figures(card: dict[str, Any]) -> list[str]:
    """The before/after lines of a publisher adapter's card (`sieve train --base`)."""
    lines = []
    for key, what in (("heldout", "held-out pages of the publisher"), ("general", "--general data")):
        fig = card.get(key)
        if not isinstance(fig, dict) or not isinstance(fig.get("before"), dict) \
                or not isinstance(fig.get("after"), dict):
            continue
        pairs = []
        for field, name in (("content_vs_rest", "content-vs-rest"), ("macro_f1", "macro-F1")):
            before, after = fig["before"].get(field), fig["after"].get(field)
            if isinstance(before, (int, float)) and isinstance(after, (int, float)):
                pairs.append(f"{name} {before:.3f} -> {after:.3f}")
        # with pages held out, both figures are of an adapter fitted without them; else of the one written
        fitted = "fitted without the held-out pages" if isinstance(card.get("heldout"), dict) else "the one written"
        if pairs:
            lines.append(f"{what} ({fig.get('documents', '?')} documents, {fig.get('blocks', '?')} labelled blocks), "
                         f"base -> adapted ({fitted}): " + ", ".join(pairs))
    if "heldout" in card and not isinstance(card.get("heldout"), dict):
        lines.append("no held-out figures in its card (none held out: too few labelled pages, or --holdout-share 0)")
    return lines


@cli.command(name="models")
@click.option("--json", "as_json", is_flag=True, help="Print each model's card as JSON, with what the check found.")
@_model_dir_option
def models_command(as_json: bool, model_dir: Path | None) -> None:
    """Show the models of a folder and check each against its card: what it is, what
    it was trained on, its cross-validated figures, its sha256. Exit status 1 when a
    model Sieve needs is missing or fails its check (as a run would fail).

    \b
    Examples:
      sieve models
      sieve models --model-dir site-models/ --json
    """
    folder = model_dir if model_dir is not None else default_model_dir()
    if not folder.is_dir():
        raise click.ClickException(f"{folder}: no such model folder")
    found: list[dict[str, Any]] = []
    failed = False
    for name, role, needed in _MODEL_ROLES:
        path = folder / name
        # a model is missing when neither it nor its card is there; a card alone fails, as
        # a run does (an optional model's: the run would go on without it, unsaid)
        orphan = None if needed else missing_model_file(path)
        if orphan is not None:
            found.append({"file": name, "role": role, "present": False, "ok": False, "problem": orphan,
                          "note": None, "card": None})
            failed = True
            continue
        if not path.exists() and (not needed or not path.with_suffix(".json").exists()):
            found.append({"file": name, "role": role, "present": False, "ok": not needed,
                          "problem": f"{path} is missing" if needed else None, "note": None, "card": None})
            failed = failed or needed
            continue
        card, problem = _check_model_file(path)
        # a malformed field that only describes the model: said, not failed (a run loads it)
        note = _malformed_card_field(path, card) if card is not None and problem is None else None
        found.append({"file": name, "role": role, "present": True, "ok": problem is None, "problem": problem,
                      "note": note, "card": card})
        failed = failed or problem is not None
    if as_json:
        click.echo(json.dumps({"model_dir": str(folder.resolve()), "ok": not failed, "models": found}, indent=2,
                              sort_keys=True))
    else:
        click.echo(f"models in {folder.resolve()}")
        for entry in found:
            if not entry["present"] and entry["problem"] and entry["file"] in (HTML_MODEL_FILE, "adapter.joblib"):
                click.echo(f"  {entry['file']:<15} {entry['role']}: FAILS: {entry['problem']}")
                continue
            if not entry["present"]:
                absent = {HTML_MODEL_FILE: "none (web pages are labelled by the text model)",
                          "adapter.joblib": "none"}.get(entry["file"], "MISSING")
                click.echo(f"  {entry['file']:<15} {entry['role']}: {absent}")
                continue
            state = "ok, matches its card" if entry["ok"] else f"FAILS: {entry['problem']}"
            click.echo(f"  {entry['file']:<15} {entry['role']}: {state}")
            if entry.get("note"):
                click.echo(f"  {'':<15} warning: {entry['note']}")
            for line in _card_lines(entry["file"], entry["card"]) if entry["card"] else ():
                click.echo(f"  {'':<15} {line}")
    if failed:
        raise SystemExit(1)


def _models_line(sieve: Sieve, predicted: list[Document]) -> str:
    """Which models labelled ``predicted``: the folder, each block model used (with how
    many documents and the first digits of its sha256), the adapter and the template
    memory, for the evaluation report."""
    kinds: dict[str, int] = {}
    for d in predicted:
        kind = sieve.model_kind(d)
        kinds[kind] = kinds.get(kind, 0) + 1
    used = ", ".join(f"{info['block_model']} ({info['block_model_sha256'] or 'no card'}) for {n} document"
                     f"{'' if n == 1 else 's'}" for kind, n in sorted(kinds.items())
                     if (info := sieve.model_info(kind)))
    parts = [f"Models: {sieve.model_dir.resolve()}", used or "no document"]
    adapter = sieve.adapter_note(len(predicted))
    if adapter:
        parts.append(adapter)
    if sieve.templates is not None:
        parts.append(sieve.templates.summary())
    return "; ".join(parts)


def _check_writable(path: Path) -> None:
    """Refuse an output whose folder cannot be made or written, before any work."""
    folder = path.parent if str(path.parent) else Path(".")
    above = next((f for f in (folder, *folder.parents) if f.exists()), None)
    if above is not None and not above.is_dir():
        raise click.ClickException(f"cannot write {path}: {above} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise click.ClickException(f"cannot write {path}: {err.strerror or err}") from err
    if not os.access(folder, os.W_OK | os.X_OK):
        raise click.ClickException(f"cannot write {path}: its folder {folder} is not writable")


def _slim(metrics: dict[str, Any]) -> dict[str, Any]:
    keys = ("per_label", "macro_f1", "macro_f1_present", "content_vs_rest", "accuracy", "blocks")
    return {k: metrics[k] for k in keys}


def format_metrics(m: dict[str, Any], *, title: str = "evaluation") -> str:
    """A plain-text report of ``model.evaluate`` metrics."""
    names = [lab.value for lab in LABELS]
    lines = [f"== {title}: {m['blocks']} labelled blocks",
             f"{'label':<12} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>9}"]
    for c in names:
        r = m["per_label"][c]
        if c not in m["labels_present"]:  # neither in the gold nor predicted: no figure, not 0
            lines.append(f"{c:<12} {'n/a':>9} {'n/a':>9} {'n/a':>9} {r['support']:9d}")
            continue
        lines.append(f"{c:<12} {r['precision']:9.4f} {r['recall']:9.4f} {r['f1']:9.4f} {r['support']:9d}")
    cvr = m["content_vs_rest"]
    lines.append(f"macro-F1 {m['macro_f1']:.4f}   accuracy {m['accuracy']:.4f}")
    if len(m["labels_present"]) < len(names):
        absent = ", ".join(c for c in names if c not in m["labels_present"])
        lines.append(f"  (no block is or was labelled {absent}: macro-F1 counts its F1 as 0, as "
                     f"the benchmark's scorer (../shared/eval/score.py) does; over the labels present it "
                     f"is {m['macro_f1_present']:.4f})")
    lines.append(f"content vs rest: P {cvr['precision']:.4f} R {cvr['recall']:.4f} F1 {cvr['f1']:.4f}")
    lines.append("confusion (rows gold, columns predicted):")
    lines.append(f"{'':<12}" + "".join(f"{c:>12}" for c in names))
    for g in names:
        lines.append(f"{g:<12}" + "".join(f"{m['confusion'][g][p]:>12d}" for p in names))
    return "\n".join(lines)


@cli.group()
def templates() -> None:
    """Template memory: blocks that repeat across a publisher's pages (menus, footers,
    recurring notices), learned without labels and used with --templates.

    \b
    Examples:
      sieve templates learn crawl/ -o templates.json
      sieve templates merge part-1.json part-2.json -o templates.json
      sieve templates show templates.json
      sieve score crawl.jsonl --templates templates.json
    """


def _memory_output(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A template memory's ``-o``: a file (``-`` would make a file named ``-``), JSON,
    written compressed for a name ending in ``.gz`` or ``.zst`` (another compression's
    name would hold plain JSON)."""
    if value is not None and str(value) == "-":
        raise click.BadParameter("- : a template memory is a file, read back with --templates (or merged); "
                                 "name one")
    suffix = other_compression(str(value)) if value is not None else None
    if suffix is not None:
        raise click.BadParameter(f"{value}: a template memory is written as plain JSON, gzip or zstd, not as "
                                 f"{suffix} (name it .json, .json.gz or .json.zst)")
    return value


@templates.command(name="learn")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, allow_dash=True, path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              callback=_memory_output,
              help="The template memory file to write (JSON; compressed if named .gz or .zst).")
@click.option("--min-pages", type=click.IntRange(min=2), default=3, show_default=True,
              help="A template is a text seen on at least this many pages of a publisher ...")
@click.option("--min-share", type=click.FloatRange(0.0, 1.0), default=0.2, show_default=True,
              help="... and on at least this share of them (both in the block's role: its tag, link or not).")
@click.option("--partial", is_flag=True,
              help="Keep every text with its counts, not only those on --min-pages pages: a bigger file, "
                   "for `sieve templates merge` (learning a crawl shard by shard), not for --templates.")
@_publisher_option
@_input_options
def templates_learn(inputs: tuple[str, ...], output: Path, min_pages: int, min_share: float, partial: bool,
                    publisher: str | None, input_format: str, text_field: str, id_field: str, max_bytes: int) -> None:
    """Learn a template memory from a sample of pages (any input `sieve score` reads,
    '-' standard input included; a folder expands to its files). Publishers come
    from records' 'publisher', else their URL's host; documents with neither are
    left out (and counted).

    A text counts per role: as a heading, a paragraph, a list item, link text or
    not (web pages and the JSONL `sieve align` writes tell; plain text does not),
    so a story's headline, linked from the publisher's other pages, is no template
    on its own page.

    The memory keeps the texts seen on --min-pages pages. To learn a crawl shard by
    shard, learn each shard with --partial (every text kept) and merge them: the
    merge keeps the texts that reach --min-pages in the sum, the same memory as
    learning from all the pages at once.

    \b
    Examples:
      sieve templates learn crawl/ -o templates.json
      sieve templates learn shard-1/ --partial -o part-1.json
    """
    from .engine import discover_shards
    from .templates import TemplateMemory

    reporter = _RejectReporter("-", _quiet())
    try:
        files = [src for src, _ in discover_shards([i for i in inputs if i != "-"], one_output_each=False)]
        files += ["-"] if "-" in inputs else []  # read once, after the files
        if not files:
            _note(f"sieve templates: warning: no input file in {', '.join(inputs)}")
        docs = _read_all(tuple(files), reporter.sink, input_format, text_field, max_bytes, (output,), publisher,
                         id_field=id_field)
        memory = TemplateMemory.learn(docs, min_pages=min_pages, min_share=min_share, partial=partial)
    except ClassifierError as err:
        raise click.ClickException(str(err)) from err
    pages = sum(e["pages"] for e in memory.publishers.values())
    read = pages + memory.unattributed + memory.repeated
    if not read:  # an empty memory written with exit 0 hid a wrong path or glob (train and evaluate refuse)
        why = (" (every record rejected)" if reporter.sink.total
               else f" (no record in {'it' if len(inputs) == 1 else 'them'})")
        if not partial:
            raise click.ClickException(f"no document read from {', '.join(inputs)}{why}: no memory written")
        _note(f"sieve templates: warning: no document read from {', '.join(inputs)}{why}: an empty partial memory")
    _save_memory(memory, output)
    n_templates = memory.count_templates()
    kept = f", {sum(len(e['blocks']) for e in memory.publishers.values())} texts kept for merging" if partial else ""
    n_pub = len(memory.publishers)
    _note(f"sieve templates: {n_pub} publisher{'' if n_pub == 1 else 's'}, {n_templates} repeated blocks{kept} "
          f"-> {output}")
    if memory.unattributed:
        _note(f"sieve templates: {memory.unattributed} of {read} documents name no publisher (no 'publisher' "
              "field, no url) and were left out: templates are learned per publisher (JSONL records can give a "
              "'publisher' or a 'url', an HTML page a <link rel=canonical> or og:url; --publisher NAME names "
              "it for the documents that do not)")
    if memory.repeated:
        _note(f"sieve templates: {memory.repeated} of {read} documents repeat a page counted already (the same "
              "url, or the same blocks) and were counted once")
    if memory.publishers and not n_templates and not partial:
        most = max(e["pages"] for e in memory.publishers.values())
        many = len(memory.publishers)
        hosts = (f"; the {many:,} publishers of one page or two are likely one site under many host names (a "
                 "blog platform's subdomains): --publisher NAME makes them one" if many > 2 and most <= 2 else "")
        _note(f"sieve templates: no block text is on --min-pages {min_pages} pages and --min-share {min_share} "
              f"of a publisher's pages (the largest publisher here has {_plural(most, 'page')}){hosts}; to learn a "
              "crawl shard by shard, learn each with --partial and `sieve templates merge` them")


@templates.command(name="merge")
@click.argument("memories", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              callback=_memory_output,
              help="The merged template memory file to write (JSON; compressed if named .gz or .zst).")
@click.option("--min-pages", type=click.IntRange(min=2), default=None,
              help="Keep the texts seen on at least this many pages in the sum [default: the first memory's].")
@click.option("--min-share", type=click.FloatRange(0.0, 1.0), default=None,
              help="The share of a publisher's pages a template needs at use [default: the first memory's].")
@click.option("--partial", is_flag=True, help="Keep every text (a memory to merge again), not only templates.")
def templates_merge(memories: tuple[Path, ...], output: Path, min_pages: int | None, min_share: float | None,
                    partial: bool) -> None:
    """Merge template memories (page counts add up). Memories learned with
    --partial (shard by shard) merge into the memory learned from all their pages
    at once; the result keeps the texts on --min-pages pages of the sum, unless
    --partial.

    \b
    Examples:
      sieve templates merge part-*.json -o templates.json
      sieve templates merge part-1.json part-2.json --partial -o part-1-2.json
    """
    from .templates import TemplateMemory

    _refuse_overwriting(memories, (output,))
    given: set[str] = set()
    seen: dict[str, Path] = {}
    for path in memories:  # one memory twice would count each of its pages twice
        if os.path.realpath(path) in given:
            raise click.UsageError(f"{path} is given twice: its pages would count twice; give each memory once")
        given.add(os.path.realpath(path))
        try:
            digest = sha256_of(path)
        except OSError as err:
            raise click.ClickException(f"cannot read {path}: {err.strerror or err}") from err
        if digest in seen:  # identical memories of different pages are possible (nothing kept of a few pages)
            _note(f"sieve templates: warning: {path} is identical to {seen[digest]}: if it is a copy of the "
                  "same memory, its pages count twice")
        seen[digest] = path
    try:
        loaded = [TemplateMemory.load(path) for path in memories]
    except ClassifierError as err:
        raise click.ClickException(str(err)) from err
    merged = loaded[0]
    for mem in loaded[1:]:
        merged = merged.merge(mem)
    if not partial:
        merged = merged.final(min_pages, min_share)
    elif min_pages is not None or min_share is not None:
        merged.min_pages = merged.min_pages if min_pages is None else min_pages
        merged.min_share = merged.min_share if min_share is None else min_share
    _save_memory(merged, output)
    final = [str(path) for path, mem in zip(memories, loaded) if not mem.partial]
    pages = sum(e["pages"] for e in merged.publishers.values())
    n_pub = len(merged.publishers)
    _note(f"sieve templates: merged {len(memories)} memories ({n_pub} publisher{'' if n_pub == 1 else 's'}, "
          f"{pages} page{'' if pages == 1 else 's'}, {merged.count_templates()} templates"
          f"{', partial' if partial else ''}) -> {output}")
    if len(memories) > 1 and final:
        _note(f"sieve templates: warning: {len(final)} of the memories ({', '.join(final[:3])}"
              f"{' ...' if len(final) > 3 else ''}) were learned without --partial: they kept only the texts "
              "on --min-pages of their own pages, so templates that reach it only across memories are "
              "missed; learn shards with --partial to merge them")


@templates.command(name="show")
@click.argument("memory", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True,
              help="Templates shown per publisher.")
def templates_show(memory: Path, top: int) -> None:
    """Print a template memory: per publisher, its most repeated blocks.

    \b
    Example:
      sieve templates show templates.json
    """
    from .templates import TemplateMemory

    try:
        mem = TemplateMemory.load(memory)
    except ClassifierError as err:
        raise click.ClickException(str(err)) from err
    for pub, entry in mem.publishers.items():
        n = TemplateMemory(mem.min_pages, mem.min_share, {pub: entry}).count_templates()
        click.echo(click.style(_for_terminal(pub), bold=True) + f"  {_plural(entry['pages'], 'page')}, "
                   f"{_plural(n, 'template')}"
                   + (f" (partial memory: {len(entry['blocks'])} texts kept for merging)" if mem.partial else ""))
        # the templates first, then the texts below the thresholds (kept for merging, not applied):
        # listed together, "14 templates" over 20 lines did not say which ones apply
        need = max(mem.min_pages, mem.min_share * entry["pages"])
        ranked = sorted(entry["blocks"].values(),
                        key=lambda b: (max(b["roles"].values(), default=0) < need, -b["pages"], b["text"]))
        for i, b in enumerate(ranked[:top]):
            if i == n:
                click.echo(f"  below the thresholds ({mem.min_pages} pages and {mem.min_share:.0%} of them in one "
                           "role), not applied:")
            roles = ", ".join(f"{r or 'text'} {c}" for r, c in sorted(b["roles"].items(), key=lambda rc: -rc[1]))
            # the pages' own text: an escape sequence or a bidirectional override in it is shown, not sent
            pages = "page " if b["pages"] == 1 else "pages"  # "1 pages" (aligned with the others' column)
            click.echo(f"  {b['pages']:>5} {pages}  {_for_terminal(b['text'])}  ({_for_terminal(roles)})")
        if len(ranked) > top:  # "13 templates" above ten lines read as a listing that lost three
            click.echo(f"  ... {len(ranked) - top} more {'texts' if mem.partial else 'blocks'} (--top {len(ranked)} "
                       "shows them all)")


@cli.command()
@click.argument("pages", nargs=-1, required=True, type=click.Path(exists=True, path_type=str))
@click.option("--clean", "clean_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="JSONL of the pages' clean article text: 'id' or 'url' to match a page, and 'text' (its "
                   "'url' and 'publisher' go to the output when the page names none).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              callback=_jsonl_file_output, help="Labelled JSONL to write (README, 'Formats'), usable by `sieve train`.")
@click.option("--clean-text-field", default="text", show_default=True,
              help="The field of the --clean records that holds the article text (CMS exports also use "
                   "'content', 'body').")
@click.option("--drop-doubtful", is_flag=True, help="Leave pages whose alignment is doubtful out of the output.")
@_input_options
@_publisher_option
@_model_dir_option
@_model_option
def align(pages: tuple[str, ...], clean_path: str, output: Path, clean_text_field: str, drop_doubtful: bool,
          input_format: str, text_field: str, id_field: str, max_bytes: int, publisher: str | None,
          model_dir: Path | None, model_choice: str, templates_path: Path | None) -> None:
    """Build labelled blocks from pages and their clean article text: a block that
    matches the clean text is content, the others boilerplate or navigation (as
    the model finds more likely). Prints each page's coverage of the clean text
    and flags pages whose alignment is doubtful.

    PAGES are HTML files, JSONL with 'html' or 'blocks', or WARC (folders expand).
    A page is matched to the clean record with its url (the scheme, 'www.', a
    trailing '/' and a '#fragment' aside), else with its id unless that record
    names another url (an id made up from file and line matches nothing); an HTML file's url is
    the canonical URL its head names. --text-field and --id-field are for PAGES
    (the clean records' id is their 'id'), --clean-text-field for the clean records.

    \b
    Example:
      sieve align site-pages/ --clean cms-export.jsonl -o labelled.jsonl
      sieve train --base models/ labelled.jsonl -o site-models/
    """
    from .align import MIN_COVERAGE, align_document, find_clean, index_clean_texts, unmatched_reason, with_clean_source
    from .engine import discover_shards

    _refuse_overwriting((templates_path,), (output,))
    if os.path.realpath(clean_path) == os.path.realpath(output):
        raise click.UsageError(f"{clean_path} is both the --clean input and the output: it would be written over; "
                               "write to another file")
    reporter = _RejectReporter("-", _quiet())
    _refuse_missing_text_field((clean_path,), (output,), "jsonl", clean_text_field, option="--clean-text-field")
    csink = RejectSink(on_reject=_RejectEcho())
    not_clean: dict[str, int] = {}
    repeated: list[str] = []
    clean_by_key = index_clean_texts(_clean_texts_only(read_any(clean_path, csink, input_format="jsonl",
                                                                text_field=clean_text_field), not_clean), repeated)
    if repeated:
        shown = ", ".join(k.split(":", 1)[1] for k in repeated[:3]) + (", ..." if len(repeated) > 3 else "")
        _note(f"sieve align: warning: {len(repeated)} --clean records repeat an earlier one's id or url with "
              f"another text ({shown}): the later is used")
    if not_clean:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(not_clean.items()))
        _note(f"sieve align: {sum(not_clean.values())} of the --clean records left out ({kinds}): clean text is "
              f"an article's text, in '{clean_text_field}' (a CMS export, a full-text feed); the pages go "
              "before --clean")
    if csink.total:
        _note(f"sieve align: {csink.total} of the --clean records rejected (see above; --clean-text-field, not "
              "--text-field, names their field that holds the text): a page whose record was rejected finds no "
              "clean text")
    if not clean_by_key:  # before the pages are read: every page would be "without clean text"
        left = sum(not_clean.values())
        why = ("it holds no record" if not csink.total and not left else
               f"{_plural(csink.total + left, 'record')} of it rejected or left out (above)")
        raise click.ClickException(f"no clean text in {clean_path}: {why}; --clean takes JSONL records with an "
                                   f"'id' or 'url' and the article's text in '{clean_text_field}' "
                                   "(--clean-text-field)")
    n = doubtful = unmatched = 0
    mismatched: list[str] = []  # pages that do not hold their clean text: said apart from the softer doubts
    try:
        sieve = _sieve(model_dir, model_choice, templates_path)  # which label the other blocks get
        files = tuple(src for src, _ in discover_shards(pages, one_output_each=False))
        docs = _read_all(files, reporter.sink, input_format, text_field, max_bytes, (output,), publisher,
                         id_field=id_field)
        with JsonlWriter(output) as out:
            for page in sieve.label_many(docs, on_error=_skipper(reporter)):
                clean = find_clean(clean_by_key, page)
                if clean is None:
                    unmatched += 1
                    if unmatched <= SHOWN_REJECTS:
                        _note(f"  {page.id}: {unmatched_reason(clean_by_key, page)}; skipped")
                    elif unmatched == SHOWN_REJECTS + 1:
                        _note(f"  more than {SHOWN_REJECTS} pages without clean text: the others are counted, "
                              "not shown")
                    continue
                bare = Document(id=page.id, blocks=tuple(Block(b.text, tag=b.tag, link_chars=b.link_chars, dom=b.dom,
                                                               path=b.path) for b in page.blocks),
                                url=page.url, publisher=page.publisher, extra=page.extra)
                result = align_document(with_clean_source(bare, clean), clean.text, predicted=page,
                                        title=clean.title)
                n += 1
                doubtful += result.doubtful
                if result.mismatched:
                    mismatched.append(str(page.id))
                flag = click.style(f"  DOUBTFUL: {result.reason}", fg="red") if result.doubtful else ""
                click.echo(f"{page.id}: coverage {result.coverage:.1%}, {result.content_blocks} content blocks of "
                           f"{len(page.blocks)}{flag}")
                if not (drop_doubtful and result.doubtful):
                    out.write(result.to_dict())
            if not n:  # the writer ends without putting an empty file in place: an earlier output stays
                raise _NothingAligned
    except _NothingAligned:
        pass
    except ClassifierError as err:
        raise click.ClickException(str(err)) from err
    except BrokenPipeError:
        raise  # standard output (the coverage lines) closed by its reader: the group ends quietly
    except OSError as err:
        raise click.ClickException(f"cannot write {output}: {err.strerror or err}") from err
    _note(f"sieve align: {n} page{'' if n == 1 else 's'} aligned ({doubtful} doubtful"
          f"{', left out' if drop_doubtful and doubtful else ''}), {unmatched} without clean text, "
          f"{reporter.sink.total} rejected" + (f" -> {output}" if n else ""))
    if mismatched:  # a wrong export among many softly doubtful pages was lost in the list
        shown = ", ".join(mismatched[:SHOWN_REJECTS]) + (", ..." if len(mismatched) > SHOWN_REJECTS else "")
        does, its, it, is_, s_ = (("does", "its", "it", "it is", "") if len(mismatched) == 1
                                  else ("do", "their", "them", "they are", "s"))
        # each is doubtful too: with --drop-doubtful it is left out already
        _note(f"sieve align: warning: {len(mismatched)} of them {does} not hold {its} clean text (under "
              f"{MIN_COVERAGE:.0%} of it, or none, is on the page: another page's text, or an excerpt's page?): "
              f"{shown}; check {its} --clean record{s_}"
              + (f" ({is_} left out)" if drop_doubtful else f", or leave {it} out with --drop-doubtful"))
    if not n:
        if not unmatched:
            raise click.ClickException("no page was aligned: no page was read from "
                                       f"{', '.join(pages)}{' (every one rejected)' if reporter.sink.total else ''}")
        raise click.ClickException("no page was aligned: none matched a --clean record by id or url")


@cli.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              callback=_jsonl_file_output,
              help="Labelled JSONL of the corrections (only the blocks you labelled carry a label).")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True,
              help="At most this many blocks are shown.")
@_publisher_option
@_input_options
@_model_dir_option
@_model_option
def review(data: tuple[str, ...], output: Path, limit: int, publisher: str | None, input_format: str,
           text_field: str, id_field: str, max_bytes: int, model_dir: Path | None, model_choice: str,
           templates_path: Path | None) -> None:
    """Label the blocks the model is least sure of, one key each, and save the labels.

    Blocks come least confident first, each with its neighbours for context. Keys:
    c content, b boilerplate, n navigation, s skip, u undo, q save and quit. The
    output is labelled JSONL that `sieve train` (or `sieve train --base`) reads.

    \b
    Example:
      sieve review site-pages.jsonl -o corrections.jsonl
      sieve train --base models/ corrections.jsonl -o site-models/
    """
    reporter = _RejectReporter("-", _quiet())
    _check_writable(output)  # before a person spends time on the answers
    try:
        sieve = _sieve(model_dir, model_choice, templates_path)
        docs = list(sieve.label_many(_read_all(data, reporter.sink, input_format, text_field, max_bytes, (output,),
                                               publisher, id_field=id_field),
                                     on_error=_skipper(reporter)))
    except ClassifierError as err:
        raise click.ClickException(str(err)) from err
    answers, kept = _earlier_answers(output, docs)
    given = len(answers)
    queue, repeats = _review_queue(docs, answers, limit)
    if answers or kept:
        also = (f" (and label {len(answers) - given} new occurrences of the texts they answered)"
                if len(answers) > given else "")
        _note(f"sieve review: {given} earlier answers in {output} apply to this data and are not "
              f"asked again{also}"
              f"{_kept_note(kept)}")
    keys = {"c": Label.CONTENT, "b": Label.BOILERPLATE, "n": Label.NAVIGATION}
    history: list[list[tuple[int, int]]] = []
    pos = 0
    try:
        _review_loop(queue, docs, keys, answers, history, pos, repeats)
    finally:  # Ctrl-C or an error keeps every answer given so far, and the earlier ones
        if answers or kept:
            _save_review(output, docs, answers, kept)
        else:
            _note("sieve review: no block labelled; nothing written")


def _save_review(output: Path, docs: list[Document], answers: dict[tuple[int, int], Label],
                 kept: list[dict[str, Any]]) -> None:
    """Write the answers to ``output``; if that fails (the disk filled, the folder went
    away while a person labelled), to a file of the temporary folder, and say where."""
    try:
        _write_review(output, docs, answers, kept)
    except OSError as err:
        import tempfile

        spare = Path(tempfile.gettempdir()) / f"sieve-review-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.jsonl"
        try:
            _write_review(spare, docs, answers, kept)
        except OSError:
            raise click.ClickException(f"cannot write {output}: {err.strerror or err}; "
                                       f"nor {spare}: the answers are lost") from err
        raise click.ClickException(f"cannot write {output}: {err.strerror or err}; the answers are saved in "
                                   f"{spare} instead (move it, then rerun with -o naming it)") from err


def _templates_line(path: Path, counts: dict[str, int] | None) -> str:
    """The template memory's summary line for a run whose shards counted for it."""
    from .templates import TemplateMemory

    if counts is None:
        return "the template memory applied to an unknown number of documents (shards of an earlier Sieve)"
    memory = TemplateMemory.load(path)
    memory.documents, memory.applied, memory.turned = counts["documents"], counts["applied"], counts.get("turned")
    return memory.summary()


def _kept_note(kept: list[dict[str, Any]]) -> str:
    return (f"; {len(kept)} documents of it not in this data (or changed since) are kept as they are" if kept
            else "")


def _earlier_answers(output: Path, docs: list[Document]) -> tuple[dict[tuple[int, int], Label], list[dict[str, Any]]]:
    """The labels an earlier `sieve review -o OUTPUT` saved: those of documents of
    ``docs`` with the same id and the same block texts, by (document, block) index;
    and every other record of OUTPUT (a document not in ``docs``, or changed since),
    to be written back unchanged: a rerun never loses an earlier answer.

    Raises:
        click.ClickException: OUTPUT exists but is not a review output.
    """
    answers: dict[tuple[int, int], Label] = {}
    kept: list[dict[str, Any]] = []
    if not output.is_file():
        return answers, kept
    by_id: dict[str, list[int]] = {}
    for i, d in enumerate(docs):
        by_id.setdefault(str(d.id), []).append(i)
    taken: set[int] = set()
    from .readers import _open_binary, _truncation_errors

    unreadable: tuple[type[BaseException], ...] = (OSError, ValueError, KeyError, TypeError, *_truncation_errors())
    try:
        with _open_binary(output) as f:  # -o NAME.jsonl.gz or .zst: written compressed
            raw = f.read()
        lines = raw.decode("utf-8").splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
        aligned = sum(1 for rec in records if "align" in rec and rec.get("reviewed") is not True)
        if aligned:  # rewritten as review's, align's labels would pass for a person's
            raise click.ClickException(f"{output} holds {aligned} page{'' if aligned == 1 else 's'} labelled by "
                                       "`sieve align` (an 'align' field): review writes its corrections to a file "
                                       "of its own, which `sieve train` reads beside align's; name another -o")
        for rec in records:
            texts = [b["text"] for b in rec["blocks"]]
            labels = [Label(b["label"]) if b.get("label") else None for b in rec["blocks"]]
            d_i = next((i for i in by_id.get(str(rec["id"]), []) if i not in taken and docs[i].texts == texts), None)
            if d_i is None:  # not in this data, or the page changed: kept as it is
                kept.append(rec)
                continue
            taken.add(d_i)
            for b_i, lab in enumerate(labels):
                if lab is not None:
                    answers[(d_i, b_i)] = lab
    except unreadable as err:
        raise click.ClickException(f"{output} exists and is not the output of `sieve review` ({err}); "
                                   "name another -o, or remove it") from err
    return answers, kept


def _review_keys() -> Callable[[], str]:
    """Where `sieve review` reads its keys: the terminal, one key press each; else
    standard input (a pipe, a file: ``printf 'ccbq' | sieve review ...``), one
    character each, blanks and line ends skipped. ``EOFError`` when they end."""
    if _stdin_is_terminal():
        return click.getchar

    def from_stdin() -> str:
        while True:
            key = sys.stdin.read(1)
            if not key:
                raise EOFError("standard input ended")
            if not key.isspace():
                return key

    return from_stdin


def _review_queue(docs: list[Document], answers: dict[tuple[int, int], Label], limit: int
                  ) -> tuple[list[tuple[float, int, int]], dict[tuple[int, int], list[tuple[int, int]]]]:
    """The blocks to ask about, least confident first, ``limit`` at most: a text repeated
    in one role on a publisher's pages (a menu heading, a cookie notice, a newsletter box)
    is asked once, at its least confident occurrence, and the answer labels every
    occurrence (a third of a reviewer's questions were three such texts); and, per block
    asked, the blocks its answer labels (itself first). A text an earlier review answered
    one way (``answers``, from the same -o) is not asked again: its new occurrences (new
    pages of the publisher) take that answer, added to ``answers``."""
    from .adapt import MemoryKey, memory_key
    from .templates import block_role, publisher_of

    groups: dict[MemoryKey, list[tuple[float, int, int]]] = {}
    earlier: dict[MemoryKey, set[Label]] = {}
    for d_i, d in enumerate(docs):
        # a document without a publisher (nor url) is no publisher's page: its texts are grouped
        # with its own only, not with those of every other such document (unrelated pages)
        pub = publisher_of(d) or f"\x00{d_i}"
        for b_i, b in enumerate(d.blocks):
            if not b.text.strip():
                continue
            key = memory_key(pub, b.text, block_role(b))  # as the adapter's block memory groups them
            if (d_i, b_i) in answers:
                earlier.setdefault(key, set()).add(answers[(d_i, b_i)])
            else:
                groups.setdefault(key, []).append((max(b.scores) if b.scores else 0.0, d_i, b_i))
    queue, repeats = [], {}
    for key, members in groups.items():
        given = earlier.get(key, set())
        if len(given) == 1:  # answered before, one way: its new occurrences take the answer
            for _, d_i, b_i in members:
                answers[(d_i, b_i)] = next(iter(given))
            continue
        first = min(members)
        queue.append(first)
        repeats[first[1:]] = [first[1:]] + [m[1:] for m in members if m != first]
    queue.sort(key=lambda t: (t[0], t[1], t[2]))
    return queue[:limit], repeats


def _review_loop(queue: list[tuple[float, int, int]], docs: list[Document], keys: dict[str, Label],
                 answers: dict[tuple[int, int], Label], history: list[list[tuple[int, int]]], pos: int,
                 repeats: dict[tuple[int, int], list[tuple[int, int]]]) -> None:
    read_key = _review_keys()
    while pos < len(queue):
        conf, d_i, b_i = queue[pos]
        doc = docs[d_i]
        block = doc.blocks[b_i]
        labelled = repeats.get((d_i, b_i), [(d_i, b_i)])
        click.echo()
        click.echo(click.style(f"[{pos + 1}/{len(queue)}] {doc.id} block {b_i}", bold=True)
                   + f"  model: {block.label.value if block.label else '-'} ({conf:.2f}), language {block.lang or '-'}"
                   + (f"; the answer labels its {len(labelled) - 1} repeat{'' if len(labelled) == 2 else 's'} too"
                      if len(labelled) > 1 else ""))
        for j in (b_i - 1, b_i, b_i + 1):
            if 0 <= j < len(doc.blocks):
                text = " ".join(doc.blocks[j].text.split())
                line = text if j == b_i else text[:100]
                click.echo(click.style(f"  > {line}", bold=True) if j == b_i else click.style(f"    {line}", dim=True))
        click.echo("  [c]ontent [b]oilerplate [n]avigation [s]kip [u]ndo [q]uit: ", nl=False)
        try:
            while True:  # another key (an arrow, Enter, a typo) is named, and the question asked again
                key = read_key().lower()
                shown = key if key.isprintable() else repr(key)  # an arrow's escape sequence would move the cursor
                click.echo(shown)
                if key in keys or key in ("s", "u", "q"):
                    break
                click.echo(f"  {shown} is not one of the keys: c, b, n, s, u or q: ", nl=False)
        except EOFError:  # the keys given through a pipe ran out (or Ctrl-D): as q
            click.echo()
            _note("sieve review: the keys ended; the answers given so far are saved")
            break
        except OSError as err:  # no terminal to read keys from
            raise click.ClickException(f"sieve review reads one key at a time from a terminal ({err}); "
                                       "the answers given so far are saved") from err
        if key == "q":
            break
        if key == "u":
            if history:
                for last in history.pop():
                    answers.pop(last, None)
                pos -= 1
            continue
        if key in keys:
            for at in labelled:
                answers[at] = keys[key]
            history.append(labelled)
        else:  # s
            history.append([])
        pos += 1


def _write_review(output: Path, docs: list[Document], answers: dict[tuple[int, int], Label],
                  kept: list[dict[str, Any]]) -> None:
    written = 0
    with JsonlWriter(output) as out:
        for rec in kept:  # documents an earlier review labelled that are not in this data
            out.write({**rec, "reviewed": True})
        for d_i, doc in enumerate(docs):
            if not any(k[0] == d_i for k in answers):
                continue
            rec = doc.to_dict()
            rec.pop("lang", None)
            rec.pop("lang_score", None)
            rec.pop("align", None)  # align's figures describe its labels, not these
            rec["blocks"] = [labelled_block(b, answers[(d_i, b_i)].value if (d_i, b_i) in answers else None)
                             for b_i, b in enumerate(doc.blocks)]
            if doc.publisher:
                rec["publisher"] = doc.publisher
            rec["reviewed"] = True  # `sieve train --base` puts these labels before align's
            out.write(rec)
            written += 1
    labelled = len(answers) + sum(1 for rec in kept for b in rec.get("blocks", []) if b.get("label"))
    docs_n = written + len(kept)
    _note(f"sieve review: {labelled} block{'' if labelled == 1 else 's'} labelled in {docs_n} "
          f"document{'' if docs_n == 1 else 's'} -> {output}")


def _lang_option(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """``--lang``'s codes, each once, in order: repeated or separated by commas, lower-cased,
    a region left out (``pt-BR`` is ``pt``); a usage error for what is no language code."""
    out: list[str] = []
    for item in value:
        for raw in item.split(","):
            if not raw.strip():
                continue
            code = normalize_lang(raw)
            if code is None:
                raise click.BadParameter(f"{raw.strip()!r} is not a language code (two or three letters, as en, "
                                         "de, zh, yue; 'und' for text in no language)")
            if code not in out:
                out.append(code)
    if value and not out:
        raise click.BadParameter("give a language code (en, de, zh...)")
    return tuple(out)


def _check_languages(langs: tuple[str, ...], model_dir: Path | None) -> None:
    """A usage error for a ``--lang`` code the language model never gives (a document
    would never be in it), with the codes it does give that look like it."""
    if not langs:
        return
    import difflib

    try:
        known = Sieve(model_dir).language.languages()
    except ClassifierError:
        return  # a missing or damaged model: the run says so itself, as without --lang
    unknown = [code for code in langs if code not in known and code != UNDETERMINED]
    if unknown:
        def hint(code: str) -> str:
            if LANGUAGE_ALIASES.get(code) in known:
                return f" (did you mean {LANGUAGE_ALIASES[code]}?)"
            if code in COUNTRY_CODES:  # a language's own code taken for a country's (Sweden's "se")
                name, country_code, country_name = COUNTRY_CODES[code]
                mean = f"; did you mean {country_code}, {country_name}?" if country_code in known else ""
                return f" ({name}'s code{mean})"
            close = difflib.get_close_matches(code, sorted(known), n=3, cutoff=0.5)
            return f" (did you mean {' or '.join(close)}?)" if close else ""

        said = "; ".join(f"{code!r}{hint(code)}" for code in unknown)
        raise click.BadParameter(f"the language model gives no language {said}: its codes are ISO 639-1 where "
                                 "there is one (en, not eng)", param_hint="'--lang'")


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, allow_dash=True, path_type=str))
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the output shards, rejects and _report.json (not with '-' or --format text).")
@click.option("--keep", "keep", type=click.Choice([lab.value for lab in LABELS]), multiple=True,
              default=("content",), show_default=True, help="Labels whose blocks are kept (repeat for several).")
@click.option("--keep-foreign", is_flag=True, help="Keep blocks and sentences in other languages than the "
                                                   "document's (default: drop them).")
@click.option("--split-by-language", is_flag=True, help="Write each language's text to its own shard "
                                                        "(NAME.LANG.jsonl.gz). Not with --annotate.")
@click.option("--min-chars", type=click.IntRange(min=0), default=DEFAULT_MIN_CHARS, show_default=True,
              help="Drop documents with fewer kept characters (a Han or kana character counts 3; reason "
                   "too_short / no_content).")
@click.option("--lang", "langs", multiple=True, metavar="CODE", callback=_lang_option,
              help="Keep only documents in this language (the language model's codes: en, de, zh...; 'und' for "
                   "text in none; repeat or separate by commas: --lang en,de); the others are dropped (reason "
                   "other_language). With --split-by-language: write only these languages' shards.")
@click.option("--annotate", is_flag=True, help="Keep every block with its label, language and segments "
                                               "beside the joined text, each with 'kept'. Not with "
                                               "--split-by-language (a record keeps the whole document).")
@click.option("--drop-fields", is_flag=True,
              help="Do not keep the input records' own fields under metadata (a page's title and published, a "
                   "WARC record's date and truncated, read by Sieve, stay).")
@click.option("--no-captions", is_flag=True,
              help="Leave pictures' captions and credits out of the kept text (web pages: a <figcaption>, text "
                   "in a <figure> but no table or quotation there, an element or its parent whose class or id names "
                   "a caption or credit; counted as 'captions' in metadata.removed). They are content, and kept, "
                   "by default.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "parquet", "text"]), default="jsonl", show_default=True,
              help="parquet: NAME.parquet shards (needs pyarrow; zstd columns id, text, source, url, publisher, "
                   "lang, lang_score, script, and metadata as JSON text); text: print each document's kept text for a "
                   "person (no output folder).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Parallel worker processes (shards run in parallel) [default: all cores].")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local: processes on this machine; dask: a Dask cluster (--scheduler, else a local one).")
@click.option("--scheduler", default=None,
              help="With --engine dask: address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                   "(exit 1 when it does not answer within 10 s).")
@click.option("--overwrite", is_flag=True, help="Redo shards that are finished already (default: skip them).")
@click.option("--compression", type=click.Choice(["gz", "zst", "none"]), default="gz", show_default=True,
              help="Output shards as .jsonl.gz, .jsonl.zst (zstd: smaller, and compressed about 8 times faster; the "
                   "run's time is the model's) or .jsonl.")
@click.option("--include", "include", multiple=True, metavar="GLOB",
              help="Of an input folder's files, read only those whose path under it or name matches (repeat for "
                   "several): --include '*.warc.gz'. Files given by name are always read.")
@click.option("--exclude", "exclude", multiple=True, metavar="GLOB",
              help="Of an input folder's files, leave out those whose path under it or name matches (repeat for "
                   "several): --exclude '*.md' --exclude 'stats/*'.")
@_max_reject_share_option
@_rejects_option
@_publisher_option
@_input_options
@_model_dir_option
@_model_option
def clean(inputs: tuple[str, ...], output_dir: Path | None, keep: tuple[str, ...], keep_foreign: bool,
          split_by_language: bool, min_chars: int, langs: tuple[str, ...], annotate: bool, drop_fields: bool,
          no_captions: bool, fmt: str,
          workers: int | None, engine: str, scheduler: str | None, overwrite: bool, compression: str,
          include: tuple[str, ...], exclude: tuple[str, ...],
          max_reject_share: float, rejects_path: str | None, publisher: str | None, input_format: str,
          text_field: str, id_field: str, max_bytes: int, model_dir: Path | None, model_choice: str,
          templates_path: Path | None) -> None:
    """Clean a corpus: keep each document's article text in its language, drop
    boilerplate, navigation and foreign-language text, account for every record.

    Each input file is a shard (a folder expands to its files, recursively) and
    gives OUTPUT_DIR/REL/NAME.jsonl.gz (NAME: the file name without extensions;
    REL: its sub-folder; NAME.parquet with --format parquet), NAME.rejects.jsonl
    for records that could not be used,
    and NAME.report.json; OUTPUT_DIR/_report.json sums them (read = written +
    dropped + rejected). Inputs: JSONL (.jsonl, .ndjson, .json; plain, .gz, .zst,
    .bz2 or .xz; records with 'blocks', 'text' or 'html'), Parquet (.parquet, a
    row a record; needs pyarrow), text files, HTML pages, WARC and WET
    (.warc[.gz|.zst|.bz2|.xz], .warc.wet.gz); '-' reads
    standard input and writes standard output. A rerun skips finished shards; it
    stops with an error, before any work, when they were made with other options
    (policy, compression, input reading, models, templates): pass --overwrite or
    another -o.

    \b
    Exit status: 0 the run completed (rejected records included); 1 it could not
    run, a shard failed, or Ctrl-C stopped it; 2 usage error; 3 more than
    --max-reject-share of the documents read were rejected (WARC requests and
    other records that are no documents aside); 143 SIGTERM stopped it. A run
    stopped (or killed) leaves its finished shards only: a rerun resumes.

    \b
    Examples:
      sieve clean crawl/ -o clean/
      sieve clean CC-MAIN-00001.warc.gz -o clean/ --workers 2
      sieve clean shards/ -o clean/ --engine dask --scheduler tcp://10.0.0.5:8786
      sieve clean --format text examples/harbour.txt
    """
    from .clean import CleanPolicy  # noqa: F811 - imported here to keep --help fast
    from .engine import FileFilter

    if annotate and split_by_language:  # an annotated record keeps the whole document, in every language
        raise click.UsageError("--annotate keeps every block of a document in one record, with its language: "
                               "drop --split-by-language (or --annotate)")
    select = FileFilter(tuple(include), tuple(exclude))
    _check_languages(langs, model_dir)  # against the run's own language model: CleanPolicy's warning is moot
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        policy = CleanPolicy(keep_labels=frozenset(Label(k) for k in keep), keep_foreign=keep_foreign,
                             split_by_language=split_by_language, min_chars=min_chars, annotate=annotate,
                             drop_fields=drop_fields, captions=not no_captions, languages=frozenset(langs))
    if scheduler is not None and engine != "dask":  # never run locally when a cluster was named
        raise click.UsageError("--scheduler is the address of a Dask scheduler: add --engine dask")
    if scheduler is not None and not scheduler.strip():  # "$SCHEDULER" unset: not a local cluster
        raise click.UsageError("--scheduler is empty: give the Dask scheduler's address (tcp://HOST:8786), or "
                               "leave the option out for a cluster on this machine")
    if scheduler and workers is not None:  # the cluster's workers run the shards
        raise click.UsageError("--workers is the number of processes on this machine: a Dask cluster "
                               "(--scheduler) has its own workers; drop --workers")
    if "-" in inputs and inputs != ("-",):  # before what depends on where the output goes
        raise click.UsageError("'-' (standard input) cannot be given with files: clean it on its own, and the "
                               "files on their own")
    quiet = _quiet()
    # read and written in workers (a local pool, a Dask cluster): pyarrow is only looked at in a child process
    in_workers = engine == "dask" or (workers or os.cpu_count() or 1) > 1
    if fmt == "parquet":
        _check_parquet_output(inputs, in_workers)
    streaming = fmt == "text" or inputs == ("-",)
    if streaming:
        if output_dir is not None:
            raise click.UsageError("with '-' or --format text the output goes to standard output; drop -o")
        ctx = click.get_current_context()
        given = [f"--{name}" for name in ("workers", "engine", "scheduler", "overwrite", "compression")
                 if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT]
        if given:  # they shape shard runs into a folder; one stream in one process has none
            raise click.UsageError(f"{', '.join(given)} only appl{'ies' if len(given) == 1 else 'y'} to cleaning "
                                   "files into -o OUTPUT_DIR, not with '-' or --format text; drop "
                                   f"{'it' if len(given) == 1 else 'them'}")
        if fmt == "text" and annotate:  # the text view shows kept text only: the labels would be lost
            raise click.UsageError("--annotate writes every block with its label as JSONL: drop --format text "
                                   "(with '-', the JSONL goes to standard output)")
        if fmt == "text" and drop_fields:  # the text view shows no field, so there is none to drop
            raise click.UsageError("--drop-fields leaves the input records' fields out of the JSONL records' "
                                   "metadata; --format text prints the kept text only: drop --drop-fields")
        read, rejected, hint = _clean_to_stdout(inputs, policy, fmt, input_format, text_field, max_bytes, model_dir,
                                                quiet, model_choice, templates_path, publisher, rejects_path, select,
                                                id_field=id_field)
        _exit_if_too_many_rejects(rejected, read, max_reject_share, hint=hint)
        return
    if output_dir is None:
        raise click.UsageError("give an output folder: -o OUTPUT_DIR (or read the kept text with --format text, "
                               "or write one JSONL stream to standard output with '-' as the input)")
    if rejects_path is not None:
        raise click.UsageError("with -o OUTPUT_DIR each shard's rejects go to OUTPUT_DIR/NAME.rejects.jsonl; "
                               "drop --rejects (it is for '-' and --format text)")
    if not quiet and not output_dir.exists() and output_dir.name.lower().endswith(_FILE_NAME_ENDINGS):
        # `sieve score -o labelled.jsonl` writes a file: `clean -o out.jsonl` made a folder of that name unsaid
        ending = PARQUET_SUFFIX if fmt == "parquet" else COMPRESSION_SUFFIX[compression]
        _note(f"sieve clean: -o {output_dir} is the output folder: it is made, and each input shard's cleaned "
              f"records go inside it ({output_dir}/NAME{ending}); for one JSONL stream on standard output, give "
              "'-' as the input")
    from .engine import REPORT_NAME, PlanError, run_clean

    _refuse_missing_text_field(inputs, (output_dir,), input_format, text_field, select, id_field=id_field,
                               in_workers=in_workers)
    try:
        if engine == "local":
            sieve = _sieve(model_dir, model_choice, templates_path)
            # a bad model fails now, once, not in every worker; the models load in the workers
            sieve.verify_models() if (workers or os.cpu_count() or 1) > 1 else sieve.check_models()
        result = run_clean(
            inputs, output_dir, policy, workers=workers or os.cpu_count() or 1, engine=engine,
            scheduler=scheduler, overwrite=overwrite, model_dir=str(model_dir) if model_dir else None,
            model_choice=model_choice, templates=str(templates_path) if templates_path else None,
            input_format=input_format, text_field=text_field, id_field=id_field, max_bytes=max_bytes,
            publisher=publisher,
            suffix=PARQUET_SUFFIX if fmt == "parquet" else COMPRESSION_SUFFIX[compression],
            echo=None if quiet else _note,
            on_failure=lambda name, why: click.echo(f"sieve clean: shard {name} failed: {why}", err=True),
            select=select,
        )
    except PlanError as err:  # the inputs and -o make no run: said before any work
        raise click.UsageError(str(err)) from err
    except ClassifierError as err:
        raise click.ClickException(str(err)) from err
    rep = result.report
    rejected = sum(rep["rejected"].values())
    if not quiet:
        failed = f", {len(result.failed)} failed" if result.failed else ""
        written = f" -> {result.report_path}" if result.report_path else f"; no {REPORT_NAME} written (a shard failed)"
        # the counts are the done shards' only: "13 shards (7 failed)" read as 7 of 13 failed, when 7 of 20 had
        total = rep["shards"] + len(result.failed)
        shards = (f"{rep['shards']:,} of {total:,} shards done" if result.failed
                  else f"{total:,} shard{'' if total == 1 else 's'}")
        _note(
       f"sieve clean: {shards} ({result.skipped:,} finished "
       f"before{failed}), {rep['read']:,} record{'' if rep['read'] == 1 else 's'} read, "
       f"{rep['written']:,} written, {sum(rep['dropped'].values()):,} dropped"
       f"{_reasons(rep['dropped'])}, {rejected:,} rejected{_reasons(rep['rejected'])}; kept "
       f"{rep['chars']['out']:,} of {rep['chars']['in']:,} characters in {result.seconds:.1f} s{written}")
        if rep.get("adapter"):
            _note(f"sieve clean: {adapter_summary(rep['adapter'], rep['adapted'])}")
        if templates_path is not None:
            _note(f"sieve clean: {_templates_line(templates_path, rep.get('templates'))}")
    if result.failed:  # each failure was printed as it happened, once (on_failure)
        names = ", ".join(name for name, _ in result.failed[:5]) + (", ..." if len(result.failed) > 5 else "")
        raise click.ClickException(f"{len(result.failed)} shard(s) failed ({names}); rerun to retry them "
                                   "(finished shards are kept)")
    # the share is of the documents: WARC requests and other records that are no documents
    # (a third of a Common Crawl file or more) would hide a run that rejected every page
    _exit_if_too_many_rejects(rejected, rep["read"] - rep.get("skipped", 0), max_reject_share)


def _reasons(counts: dict[str, int]) -> str:
    """`` (reason: n, ...)`` of a count per reason, or "" when there is none."""
    return f" ({', '.join(f'{k}: {v:,}' for k, v in counts.items())})" if counts else ""


def _exit_if_too_many_rejects(rejected: int, read: int, max_reject_share: float, command: str = "clean",
                              hint: str = "") -> None:
    """Exit with ``EXIT_TOO_MANY_REJECTS`` when more than the share of the documents read
    (records that are no documents, such as WARC requests, aside) was rejected; ``hint``
    says why, when it is known (``_RejectReporter.field_hint``)."""
    if read and rejected / read > max_reject_share:
        click.echo(f"sieve {command}: {rejected:,} of {read:,} documents rejected, more than "
                   f"--max-reject-share {max_reject_share}{hint}", err=True)
        sys.exit(EXIT_TOO_MANY_REJECTS)


def _check_parquet_output(inputs: tuple[str, ...], in_workers: bool = False) -> None:
    """`clean --format parquet`: files into -o OUTPUT_DIR, compressed as Parquet compresses
    its columns, with pyarrow installed; else a usage error (or exit 1 without pyarrow)
    before any work. With ``in_workers`` (the shards are written by worker processes),
    pyarrow is imported in a short-lived child process: this one never holds it."""
    if "-" in inputs:
        raise click.UsageError("--format parquet writes NAME.parquet files into -o OUTPUT_DIR: a Parquet file "
                               "ends with its index, so it cannot stream to standard output ('-' writes JSONL)")
    ctx = click.get_current_context()
    if ctx.get_parameter_source("compression") is not click.core.ParameterSource.DEFAULT:
        raise click.UsageError("--compression is for JSONL shards; Parquet shards compress their columns (zstd): "
                               "drop --compression")
    from .engine import ChildDied, in_child_process

    try:
        if in_workers and _pyarrow_not_imported_but_found():
            with contextlib.suppress(ChildDied):  # (a crash on import) each shard's failure says why
                in_child_process(_import_pyarrow)
        else:
            _import_pyarrow()
    except ClassifierError as err:
        raise click.ClickException(str(err).replace("reading Parquet", "--format parquet")) from err


def _import_pyarrow() -> None:
    """Import pyarrow.parquet (``parquet.parquet_module``): an ``InputError`` without it."""
    from .parquet import parquet_module

    parquet_module()


def _clean_to_stdout(inputs: tuple[str, ...], policy: Any, fmt: str, input_format: str, text_field: str,
                     max_bytes: int, model_dir: Path | None, quiet: bool, model_choice: str,
                     templates_path: Path | None, publisher: str | None = None,
                     rejects_path: str | None = None, select: Any = None, *,
                     id_field: str = "id") -> tuple[int, int, str]:
    """`sieve clean` on standard output: JSONL records, or the kept text for a person.
    Returns the records read (skipped ones included, as a shard report counts them)
    and those rejected."""
    from .clean import clean_document

    reporter = _RejectReporter("-", quiet, rejects_path)
    read = written = 0
    dropped: Counter[str] = Counter()
    try:
        sieve = _sieve(model_dir, model_choice, templates_path)
        sieve.check_models()
        with reporter, JsonlWriter("-") as out:
            from .engine import discover_shards

            files = (inputs if inputs == ("-",)  # one stream out: inputs of one name are no clash
                     else tuple(src for src, _ in discover_shards(inputs, one_output_each=False, select=select)))
            docs = _read_all(files, reporter.sink, input_format, text_field, max_bytes, (rejects_path,),
                             publisher=publisher, id_field=id_field)
            for doc in sieve.label_many(docs, on_error=_skipper(reporter)):
                read += 1
                res = clean_document(doc, policy, source="stdin" if inputs == ("-",) else "",
                                     model=sieve.model_info_for(doc))
                if res.dropped:
                    dropped[res.dropped] += 1
                    if fmt == "text":
                        click.echo(click.style(_for_terminal(f"# {doc.id}: dropped ({res.dropped})"
                                                             + (f" {doc.url}" if doc.url else "")), dim=True))
                    continue
                written += 1
                for lang, rec in res.records:
                    if fmt == "jsonl":
                        out.write(rec)
                    else:
                        head = (f"# {doc.id}" + (f" [{lang}]" if lang else f" [{doc.lang or '?'}]")
                                + (f" {doc.url}" if doc.url else ""))  # a WARC record's id says little
                        click.echo(click.style(_for_terminal(head), bold=True))
                        click.echo(_for_terminal(rec.get("text")
                                                 or "\n\n".join(b["text"] for b in rec.get("blocks", []))))
                        click.echo()
    except ClassifierError as err:
        raise click.ClickException(str(err)) from err
    except BrokenPipeError:
        raise  # standard output closed by its reader: the group ends quietly
    except OSError as err:  # standard output or the rejects file cannot be written: one line, exit 1
        name = str(err.filename or "-").removesuffix(".part")
        raise click.ClickException(f"cannot write {'standard output' if name == '-' else name}: "
                                   f"{err.strerror or err}") from err
    # skipped records (WARC requests, non-HTML responses) count as read and dropped, as
    # in a shard report, so that read = written + dropped + rejected here too
    dropped.update(reporter.sink.skipped)
    total_read = read + reporter.sink.total + reporter.sink.total_skipped
    if not quiet:
        _note(f"sieve clean: {total_read:,} record{'' if total_read == 1 else 's'} read, {written:,} written, "
              f"{dropped.total():,} dropped{_reasons(dict(sorted(dropped.items())))}, "
              f"{reporter.sink.total:,} rejected{_reasons(dict(sorted(reporter.sink.counts.items())))}"
              f"{f' -> {reporter.path}' if reporter.sink.total and reporter.path else ''}")
        note = sieve.adapter_note(read)
        if note:
            _note(f"sieve clean: {note}")
        if sieve.templates is not None:
            _note(f"sieve clean: {sieve.templates.summary()}")
    # documents read, rejected, and why when they were for want of a text field
    return total_read - reporter.sink.total_skipped, reporter.sink.total, reporter.field_hint()


def main() -> None:  # pragma: no cover - the console script
    cli()


if __name__ == "__main__":  # python -m classifier.cli, as python -m classifier
    main()
