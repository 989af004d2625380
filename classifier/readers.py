"""Readers: input files -> ``Document``s, lazily; unusable records become ``Reject``s.

Every record a reader sees ends as a yielded document or as exactly one ``Reject``
with a stable reason code, so callers can check ``read == written + rejected``.

Reason codes: ``bad_json``, ``bad_schema``, ``bad_encoding``, ``binary``,
``no_text`` (an empty document), ``too_large``, ``truncated`` (a compressed
stream or WARC record that ends early; the records before it are kept),
``corrupt`` (compressed data that is damaged: a failed checksum, invalid deflate
data, a ``.gz`` that is no gzip; the records before it are kept),
``malformed`` (a WARC record or page that cannot be parsed), ``timeout`` (a page
that takes longer than ``PAGE_SECONDS`` to cut into blocks), ``unreadable``.

Records that are fine but are not documents (a WARC request or metadata record,
a response that is not HTML) are not rejects: they are counted as *skipped*, by
reason, on the same sink (``RejectSink.skip``).

Formats (``input_format="auto"`` goes by the name, after a ``.gz`` or ``.zst``
suffix): JSONL (``.jsonl``, ``.ndjson``, ``.json``), HTML pages (``.html``,
``.htm``: one document), WARC (``.warc``, ``.warc.gz``, ``.warc.zst``), Parquet
(``.parquet``: ``parquet.py``, a row a record), else plain text (one document).
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import gzip
import io
import json
import logging
import math
import re
import signal
import sys
import threading
import time
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

from .document import Document, is_blank, split_paragraphs
from .errors import InputError, PageError, SchemaError, TooManyBlocks

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FieldCheck",
    "MAX_BLOCKS",
    "PARQUET_MAGIC",
    "Reject",
    "RejectSink",
    "document_id_for",
    "missing_id_field",
    "missing_text_field",
    "record_text_field",
    "text_field_names",
    "with_publisher",
    "read_any",
    "read_jsonl",
    "read_text",
]

logger = logging.getLogger(__name__)

#: Records (JSONL lines, text files) larger than this are rejected as ``too_large``:
#: a 50 MB "paragraph" is a broken scrape, and labelling it would stall a worker.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024

#: Documents of more blocks than this are rejected as ``too_large`` too: labelling
#: holds a few kB per block at once, so 10 MB of two-letter lines (over 2 million
#: blocks) would take gigabytes; a long real page has a few thousand.
MAX_BLOCKS = 50_000

STDIN = "-"
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_HTML_SUFFIXES = (".html", ".htm", ".xhtml")
_WARC_SUFFIXES = (".warc", ".arc", ".wet")  # .warc.wet: Common Crawl's extracted text
_PARQUET_SUFFIXES = (".parquet", ".parq")
INPUT_FORMATS = ("auto", "jsonl", "text", "html", "warc", "parquet")
#: Compressed inputs read as streams (by name).
COMPRESSION_SUFFIXES = (".gz", ".zst", ".bz2", ".xz")


@dataclass(frozen=True, slots=True)
class Reject:
    """A record that could not be used: where it was, why, and the record itself."""

    source: str
    position: int  # 1-based line number (JSONL) or 1 for a whole-file document
    reason: str
    detail: str = ""
    raw: bytes | None = None
    #: which WARC record: {"url", "warc_record_id", "offset"} (the byte of the file where the
    #: record starts, its gzip member's in a .warc.gz; of the decompressed stream for zstd or stdin)
    warc: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source": self.source,
            "position": self.position,
            "reason": self.reason,
            "detail": self.detail,
        }
        if self.warc:
            out["warc"] = self.warc
        if self.raw is not None:
            try:
                out["raw"] = self.raw.decode("utf-8")
            except UnicodeDecodeError:  # keep every byte: the reject file must lose nothing
                out["raw_base64"] = base64.b64encode(self.raw).decode("ascii")
        return out

    def __str__(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.source}:{self.position}: {self.reason}{detail}"


@dataclass(slots=True)
class RejectSink:
    """Collects rejects (counted by reason, each handed to ``on_reject``) and
    skipped records (counted by reason)."""

    on_reject: Callable[[Reject], None] | None = None
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def add(self, reject: Reject) -> None:
        self.counts[reject.reason] = self.counts.get(reject.reason, 0) + 1
        logger.debug("rejected %s", reject)
        if self.on_reject is not None:
            self.on_reject(reject)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def total_skipped(self) -> int:
        return sum(self.skipped.values())


#: Extensions taken off a file name to name its output shard.
KNOWN_SUFFIXES = (".jsonl", ".ndjson", ".json", ".txt", ".text", ".md", ".html", ".htm", ".xhtml", ".warc",
                  ".arc", ".warc.wet", ".wet", ".parquet", ".parq")


def with_publisher(docs: Iterable[Document], publisher: str | None) -> Iterator[Document]:
    """``docs``, each that names no publisher given ``publisher`` (`--publisher`);
    unchanged when it is None."""
    for doc in docs:
        yield doc if publisher is None or doc.publisher else replace(doc, publisher=publisher)


def document_id_for(path: str | Path) -> str:
    """The id of a one-document file: its name without its compression and format
    extensions, as ``shard_name_for`` (``story.txt.gz`` -> ``story``,
    ``2024.03.ferry-vote.html`` -> ``2024.03.ferry-vote``: dated names stay distinct)."""
    return shard_name_for(path)


def shard_name_for(path: str | Path) -> str:
    """The name of an input shard's outputs: its file name without compression and
    format extensions (``crawl-00.jsonl.gz`` -> ``crawl-00``, ``part.0.jsonl`` ->
    ``part.0``, so numbered shards keep distinct names); an unknown last extension
    goes too."""
    name = Path(path).name
    base = name
    for suffix in COMPRESSION_SUFFIXES:
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
            break
    for suffix in KNOWN_SUFFIXES:
        if base.lower().endswith(suffix):
            return base[: -len(suffix)] or name
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    return stem or name


def _open_binary(path: str | Path) -> BinaryIO:
    if str(path) == STDIN:
        return sys.stdin.buffer
    raw: BinaryIO = open(path, "rb")
    name = str(path).lower()
    # the first bytes, not the name, say how a file is compressed: a compressed file under a
    # plain name ("x.jsonl" that is gzip), zstd named .gz, a plain file named .gz (all its
    # records were one "corrupt" reject)
    found = _compression_of(raw.peek(10)[:10])  # type: ignore[attr-defined]
    named = next((suffix for suffix in COMPRESSION_SUFFIXES if name.endswith(suffix)), "")
    if found != named and (found or _plain_text(raw.peek(4096)[:4096])):  # type: ignore[attr-defined]
        name = name.removesuffix(named) + found
    # the decompressors open the file themselves, so that closing them closes it
    if name.endswith(".gz"):
        raw.close()
        return gzip.GzipFile(filename=path, mode="rb")  # type: ignore[return-value]
    if name.endswith(".bz2"):
        import bz2

        raw.close()
        return _damage_as_corrupt(bz2.BZ2File(path, mode="rb"))
    if name.endswith(".xz"):
        import lzma

        raw.close()
        return _damage_as_corrupt(lzma.LZMAFile(path, mode="rb"))
    if name.endswith(".zst"):  # not zstandard's stream reader: it ends quietly where a cut file does
        return io.BufferedReader(_ZstdFrames(raw, closefd=True), buffer_size=1 << 16)  # type: ignore[return-value]
    return raw


def decompressed_bytes(path: str | Path) -> bytes:
    """The whole of a (small) file, decompressed when its first bytes say gzip, zstd,
    bzip2 or xz, whatever its name. Raises ``OSError`` when it cannot be read and
    ``ValueError`` when its compressed stream is damaged or cut short."""
    try:
        with _open_binary(path) as stream:
            return stream.read()
    except _truncation_errors() as err:
        raise ValueError(f"its compressed data is damaged or cut short ({err})") from err


def _compression_of(magic: bytes) -> str:
    """The compression suffix the first (10) bytes of a file or stream say (".gz", ".zst",
    ".bz2", ".xz"), or "" for none of them."""
    if magic[:2] == b"\x1f\x8b":
        return ".gz"
    if magic[:4] in (_ZSTD_MAGIC, _ZSTD_DICTIONARY_MAGIC):
        return ".zst"
    # bzip2: its header, the block size, then a block's or the end's magic (text may begin "BZh1")
    if magic[:3] == b"BZh" and magic[3:4].isdigit() and magic[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return ".bz2"
    if magic[:6] == b"\xfd7zXZ\x00":
        return ".xz"
    return ""


def _plain_text(head: bytes) -> bool:
    """Whether a file's first bytes are UTF-8 text without NULs (a plain file under a
    compressed name): compressed data is not, past its first few bytes."""
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start >= len(head) - 3 and err.reason == "unexpected end of data"  # a character cut at the end
    return True


def _base_name(path: str | Path) -> str:
    name = str(path).lower()
    for suffix in COMPRESSION_SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def format_of(path: str | Path) -> str:
    """The input format ``auto`` picks for ``path``: jsonl, html, warc, parquet or text."""
    base = _base_name(path)
    if base.endswith(_JSONL_SUFFIXES):
        return "jsonl"
    if base.endswith(_HTML_SUFFIXES):
        return "html"
    if base.endswith(_WARC_SUFFIXES):
        return "warc"
    if base.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    return "text"


class DamagedStream(EOFError):
    """Compressed data that cannot be decompressed (not merely cut short): a ``corrupt``
    reject. An EOFError, so every reader that stops at a cut stops here too."""


_STREAM_ERRORS: tuple[type[BaseException], ...] = (EOFError, gzip.BadGzipFile, zlib.error)


#: How a ``too_large`` reject's reason says the limit can be raised (the command's option).
RAISE_LIMIT = "--max-bytes raises it"


def too_large_reject(source: str, position: int, size: int, max_bytes: int, raw: bytes,
                     at_least: bool = False) -> Reject:
    """The reject of a record of ``size`` bytes over ``max_bytes`` (``at_least``: of more
    than ``size`` bytes, counted no further): it keeps the first ``max_bytes`` of ``raw``."""
    said = f"more than {size} bytes" if at_least else f"{size} bytes"
    return Reject(source, position, "too_large", f"{said} > limit {max_bytes} ({RAISE_LIMIT}; the reject keeps "
                  f"its first {max_bytes} bytes)", raw[:max_bytes])


#: How far the size of a document that is too large is counted (a compressed page or
#: text file: decompressing a gzip bomb of 5 GB to count it took 15 s, outside any
#: per-document time limit): 4 times ``max_bytes``, and 64 MiB at least.
COUNTED_PAST_LIMIT, COUNTED_AT_LEAST = 4, 64 << 20


def _stream_reject(source: str, position: int, err: BaseException) -> Reject:
    """The reject for a compressed stream that stops being readable: ``truncated`` when
    it ends early, ``corrupt`` when its data is damaged (gzip's checksum or header,
    invalid deflate data)."""
    if isinstance(err, (gzip.BadGzipFile, zlib.error, DamagedStream)):
        return Reject(source, position, "corrupt", f"compressed data is damaged: {err}")
    return Reject(source, position, "truncated", f"compressed stream ends early: {err}")


def _truncation_errors() -> tuple[type[BaseException], ...]:
    import lzma

    errors: tuple[type[BaseException], ...] = (*_STREAM_ERRORS, lzma.LZMAError)
    try:
        import zstandard

        return (*errors, zstandard.ZstdError)
    except ImportError:  # pragma: no cover - zstandard is a dependency
        return errors


def read_any(
    path: str | Path,
    rejects: RejectSink,
    *,
    input_format: str = "auto",
    text_field: str = "text",
    max_bytes: int = DEFAULT_MAX_BYTES,
    id_field: str = "id",
) -> Iterator[Document]:
    """Yield the documents of one input: a JSONL file, a text file, an HTML page, a
    WARC file, or ``-`` (stdin).

    Args:
        input_format: one of ``INPUT_FORMATS``; ``"auto"`` goes by the file name
            (``format_of``), and for a name that says none (no known suffix, not
            ``.txt``) and for stdin by the first bytes (``sniff_format``: JSONL, WARC,
            HTML, else text); empty stdin is no document. Standard input compressed
            with gzip, zstd, bzip2 or xz is decompressed first (found by its first
            bytes).
        text_field: the record field holding text when a record has no ``blocks``.
        max_bytes: records larger than this are rejected as ``too_large``.
        id_field: the record field holding a JSONL record's or Parquet row's id
            (``Document.from_dict``); a record without it is named by its file and line.

    Raises:
        InputError: the input cannot be opened at all (missing, a folder, no permission).
    """
    if input_format not in INPUT_FORMATS:
        raise InputError(f"unknown input format {input_format!r}; use {', '.join(INPUT_FORMATS)}")
    if str(path) == STDIN:
        yield from _read_pipe(sys.stdin.buffer, STDIN, "stdin", rejects, input_format, text_field, max_bytes,
                              id_field=id_field)
        return
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder: give its files (`sieve clean` and `sieve score` expand folders)")
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():  # a named pipe, <(zcat x.gz): read once, as standard input is
        try:
            pipe = open(path, "rb")
        except OSError as err:
            raise InputError(f"{path}: cannot open ({err.strerror or err})") from err
        named = format_of(path)  # a name that says its format is believed, as for a file
        if input_format == "auto" and (named != "text" or _base_name(path).endswith(_TEXT_SUFFIXES)):
            input_format = named
        with pipe:
            yield from _read_pipe(pipe, str(path), shard_name_for(path.name), rejects, input_format, text_field,
                                  max_bytes, id_field=id_field)
        return
    if path.name.lower().endswith(COMPRESSION_SUFFIXES) and _is_empty(path):
        # a compressed file holds its header at least: a download that failed, a copy cut at 0
        rejects.add(Reject(str(path), 1, "truncated", "an empty compressed file (0 bytes): nothing of it arrived"))
        return
    fmt = file_format(path, input_format)
    if fmt == "jsonl":
        yield from read_jsonl(path, rejects, text_field=text_field, max_bytes=max_bytes, id_field=id_field)
    elif fmt == "warc":
        yield from read_warc(path, rejects, max_bytes=max_bytes)
    elif fmt == "parquet":
        yield from _read_parquet_file(path, rejects, text_field, max_bytes, id_field=id_field)
    else:
        yield from read_text(path, rejects, max_bytes=max_bytes, html=fmt == "html")


def _read_parquet_file(path: Path, rejects: RejectSink, text_field: str, max_bytes: int, *,
                       id_field: str = "id") -> Iterator[Document]:
    from .parquet import read_parquet

    if not _compression_of(_head_of(path, 10, decompress=False)):
        yield from read_parquet(path, rejects, text_field=text_field, max_bytes=max_bytes, id_field=id_field)
        return
    with _open_binary(path) as stream:  # a compressed Parquet file (x.parquet.gz)
        yield from _read_parquet_copy(stream, str(path), rejects, text_field, max_bytes, id_field=id_field)


def _read_parquet_copy(stream: Any, source: str, rejects: RejectSink, text_field: str,
                       max_bytes: int, *, id_field: str = "id") -> Iterator[Document]:
    """The documents of a Parquet file read once (standard input, a pipe, a decompressor):
    copied to a temporary file first (its index is at its end), on disk (a shard is
    hundreds of MB); a cut stream is one reject."""
    import shutil
    import tempfile

    from .parquet import parquet_module, read_parquet

    parquet_module()  # pyarrow is there, before the stream is copied
    with tempfile.TemporaryFile() as copy:
        try:
            shutil.copyfileobj(stream, copy, 1 << 20)
        except _truncation_errors() as err:
            rejects.add(_stream_reject(source, 1, err))
            return
        copy.seek(0)
        yield from read_parquet(copy, rejects, name=source, text_field=text_field, max_bytes=max_bytes,
                                id_field=id_field)


def _is_empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False


def file_format(path: str | Path, input_format: str = "auto") -> str:
    """The format ``read_any`` reads a regular file in: ``input_format``, or with
    ``auto`` what its name says (``format_of``), its first bytes for a name that says
    none (``sniff_format``: part-00000.gz, a page saved without .html); ``parquet`` for
    records in a Parquet file whatever its name."""
    path = Path(path)
    fmt = format_of(path) if input_format == "auto" else input_format
    if input_format == "auto" and fmt == "text" and not _base_name(path).endswith(_TEXT_SUFFIXES):
        fmt = sniff_format(_head_of(path, _FILE_SNIFF_BYTES))
    if fmt == "jsonl" and _head_of(path, len(PARQUET_MAGIC)) == PARQUET_MAGIC:
        # records either way, and no JSON text begins so: labelled data, --clean texts and
        # --input-format jsonl read a Parquet file's rows
        fmt = "parquet"
    return fmt


#: Bytes of a file without a telling name that are sniffed: a JSONL file cut inside a
#: record of a web page (its html, hundreds of kB) shows where the next record begins.
_FILE_SNIFF_BYTES = 1 << 20
#: Names that say plain text: never looked into (a story may begin with "{" or "<html").
_TEXT_SUFFIXES = (".txt", ".text", ".md", ".rst")
# atomic groups: a comment ends at its first "-->" (as in a browser), and a run of comments
# is not tried every way it could be split when no page follows (2^n tries: 40 comments hung)
_HTML_START = re.compile(rb"\s*(?>(?><!--.*?-->)\s*)*"
                         rb"(<!doctype\s+html|<html|<head|<\?xml[^>]*>\s*(<!doctype\s+html|<html))",
                         re.IGNORECASE | re.DOTALL)


_JSON_ARRAY_START = re.compile(rb"\[\s*[{\]]")


#: A JSONL stream cut anywhere (``split -b``'s or ``split -n``'s second part, ``tail -c``):
#: the end of a record or of a JSON value on the first line, then a record's start.
_CUT_JSONL_START = re.compile(rb"[^\n]*[}\]][ \t\r]*\n[ \t\r\n]*(?=\{\s*\")")
#: A WARC stream cut inside a record: a record's first lines a little further on (CRLF, as
#: WARC writes them, and a WARC- field: a note that quotes a record is no WARC file).
_CUT_WARC_START = re.compile(rb"\r\nWARC/1\.[01]\r\nWARC-[A-Za-z-]+: ")


def _starts_records(text: bytes) -> bool:
    """Whether ``text`` (a stream's second line onward) begins with a JSON object that
    ends its line, or is cut before it ends (a record longer than the bytes sniffed)."""
    line = text.split(b"\n", 1)[0].decode("utf-8", "replace")
    try:
        end = json.JSONDecoder().raw_decode(line)[1]
    except RecursionError:
        return False
    except ValueError as err:
        at_end = getattr(err, "msg", "").startswith("Unterminated string") or \
            getattr(err, "pos", 0) >= len(line.rstrip()) - 1
        return b"\n" not in text and at_end  # a record the sniffed bytes cut
    return not line[end:].strip()


def _records_follow(head: bytes) -> bool:
    """Whether every whole line after the first of ``head`` is a JSON object, and there
    are two or more: JSON Lines after a line of something else (a header, a log line),
    which read as text would make every record one document of raw JSON."""
    lines = [line for line in head.split(b"\n")[1:-1] if line.strip()]  # the last may be cut
    if len(lines) < 2:
        return False
    for line in lines:
        try:
            if not isinstance(_DECODER.decode(line.decode("utf-8")), dict):
                return False
        except (ValueError, RecursionError):  # UnicodeDecodeError too; "[[[[...": too deep to be a record
            return False
    return True


def sniff_format(head: bytes) -> str:
    """The input format of a file whose name does not say it, or of standard input,
    from its first bytes (decompressed): JSONL when the first character is ``{`` (or
    ``[`` and ``{``: a JSON array of records), a
    WARC file when it begins ``WARC/``, an HTML page when it begins with a doctype or
    ``<html>``, else text. A stream cut inside its first record (the second file of
    ``split``) is JSONL when its first line ends a JSON value and the next begins a
    record, or when every whole line after its first is a record (two or more), WARC
    when a WARC record begins further on: read as text, every record after the cut
    would be one document of raw JSON or WARC."""
    if head[:2] in _UTF16_BOMS:  # UTF-16 (Windows tools): JSON Lines or a page in it, sniffed as UTF-8
        codec = "utf-16-le" if head[:2] == b"\xff\xfe" else "utf-16-be"
        found = sniff_format(head[2:len(head) & ~1].decode(codec, "replace").encode("utf-8"))
        return found if found in ("jsonl", "html") else "text"
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    h = head.removeprefix(_UTF8_BOM).lstrip()
    if h[:1] == b"{" or _JSON_ARRAY_START.match(h):  # a record, or a JSON array of them
        return "jsonl"
    if h.startswith(b"WARC/"):
        return "warc"
    if _HTML_START.match(h[:2048]):
        return "html"
    cut = _CUT_JSONL_START.match(h)
    if cut and _starts_records(h[cut.end():]) or _records_follow(h):
        return "jsonl"
    if _CUT_WARC_START.search(h):
        return "warc"
    return "text"


def _head_of(path: Path, size: int = 4096, *, decompress: bool = True) -> bytes:
    """The first ``size`` bytes of a file, decompressed: those before an error (b"" when
    none can be read: the reader then says why)."""
    errors: tuple[type[BaseException], ...] = (OSError, *_truncation_errors())
    try:
        with _open_binary(path) if decompress else open(path, "rb") as f:
            return _read_head(f, size)[0]  # what came before a cut or damage: a cut part-00000.gz is JSONL
    except errors:  # it cannot be opened
        return b""


def _read_pipe(stream: Any, source: str, doc_id: str, rejects: RejectSink, input_format: str, text_field: str,
               max_bytes: int, *, id_field: str = "id") -> Iterator[Document]:
    """The documents of a stream read once (standard input, a named pipe): decompressed
    and its format found from its first bytes (``read_any``)."""
    # the first bytes, however the pipe hands them over (a writer's first write may be
    # one byte), then the stream again from its start: what is sniffed is the head
    head, ended = _read_head(stream, _SNIFF_BYTES)
    stream = io.BufferedReader(_Prepended(head, stream, ended), buffer_size=_SNIFF_BYTES)
    if input_format == "auto" and _gzipped_warc(stream):
        input_format = "warc"  # as it is: the WARC reader goes on at the member after a broken one
    if input_format != "warc":  # the WARC reader takes gzip and zstd as they are
        stream = _decompressed_stdin(stream)
    if input_format == "auto":
        try:
            head = stream.peek(_SNIFF_BYTES).removeprefix(_UTF8_BOM)
        except _truncation_errors() as err:  # cut or damaged before a whole first block
            rejects.add(_stream_reject(source, 1, err))  # said here: a decompressor that failed once
            return  # may fail on the next read as if it were cut
        except OSError as err:
            rejects.add(Reject(source, 1, "unreadable", str(err)))
            return
        # empty: no document (as an empty JSONL file), not one empty text
        input_format = sniff_format(head) if head.strip() else "jsonl"
    elif input_format == "jsonl" and _peek(stream, len(PARQUET_MAGIC)) == PARQUET_MAGIC:
        input_format = "parquet"  # records either way (file_format)
    if input_format == "jsonl":
        yield from _read_jsonl_stream(stream, source, rejects, text_field, max_bytes, id_field=id_field)
    elif input_format == "warc":
        yield from _read_warc_stream(stream, source, rejects, max_bytes)
    elif input_format == "parquet":
        yield from _read_parquet_copy(stream, source, rejects, text_field, max_bytes, id_field=id_field)
    else:
        yield from _read_text_stream(stream, source, doc_id, rejects, max_bytes, html=input_format == "html")


#: Bytes read from a pipe before its format is sniffed (a slow writer's first records
#: wait for them, or for the end of its output).
_SNIFF_BYTES = 1 << 14


def _peek(stream: Any, size: int) -> bytes:
    """The first ``size`` bytes of a peekable stream, not consumed (b"" when they cannot
    be read: the reader then says why)."""
    errors: tuple[type[BaseException], ...] = (OSError, *_truncation_errors())
    try:
        return stream.peek(size)[:size]  # type: ignore[no-any-return]
    except errors:
        return b""


def _read_head(stream: Any, size: int) -> tuple[bytes, bool]:
    """Up to ``size`` bytes from the start of ``stream`` (fewer only at its end, or
    before an error: a pipe's reads return what has arrived, which may be a byte), and
    whether the stream ended there."""
    read = getattr(stream, "read1", None) or stream.read
    errors: tuple[type[BaseException], ...] = (OSError, *_truncation_errors())
    chunks: list[bytes] = []
    got = 0
    ended = False
    while got < size:
        try:
            chunk = read(size - got)
        except errors:
            break  # the reader meets the error again and says why
        if not chunk:
            ended = True
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks), ended


class _Prepended(io.RawIOBase):
    """``head`` (bytes already read from ``rest``), then the rest of ``rest``, unless
    ``ended``: a terminal's Ctrl-D ends one read, and reading on would wait for another."""

    def __init__(self, head: bytes, rest: Any, ended: bool = False) -> None:
        self._head = memoryview(head)
        self._rest = rest
        self._ended = ended

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        if self._ended:
            return 0
        read = getattr(self._rest, "read1", None) or self._rest.read
        chunk = read(len(buffer))
        if not chunk:
            self._ended = True
        buffer[:len(chunk)] = chunk
        return len(chunk)


class _Utf8FromUtf16(io.RawIOBase):
    """A UTF-16 byte stream (with its byte-order mark) as UTF-8 bytes: JSON Lines saved
    by Windows tools (PowerShell's ``>``, Notepad's "Unicode") read as any other.
    Code units that are no text become U+FFFD (a record of them is then what its JSON says)."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
        self._pending = b""
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            if self._ended:
                return 0
            # read1: what a cut compressed stream gives before its error is decoded and
            # passed on first (the error comes at the next read, after those records)
            chunk = (getattr(self._raw, "read1", None) or self._raw.read)(1 << 14)
            self._ended = not chunk
            self._pending = self._decoder.decode(chunk, final=self._ended).encode("utf-8", "surrogatepass")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _gzipped_warc(stream: Any) -> bool:
    """Whether a peekable stream is a gzipped WARC file: its first buffered bytes,
    decompressed without being consumed, begin ``WARC/``."""
    try:
        raw = stream.peek(1 << 16)
    except OSError:
        return False
    return _gzip_member_is_warc(raw)


def _gzip_member_is_warc(raw: bytes) -> bool:
    """Whether ``raw`` begins a gzip member whose first inflated bytes begin ``WARC/``."""
    if raw[:2] != b"\x1f\x8b":
        return False
    try:
        head = zlib.decompressobj(wbits=31).decompress(raw, 64)
    except zlib.error:
        return False
    return sniff_format(head) == "warc"


def _decompressed_stdin(stream: Any) -> Any:
    """Standard input decompressed when its first bytes are a gzip, zstd, bzip2 or xz
    header (``cat crawl.jsonl.gz | sieve clean -``), else as it is; peekable either way."""
    found = _compression_of(stream.peek(10)[:10])
    if found == ".gz":
        return gzip.GzipFile(fileobj=stream, mode="rb")  # not rewrapped: a buffer over it loses what it
        # holds when the cut is met, and GzipFile can peek itself
    if found == ".zst":
        return io.BufferedReader(_ZstdFrames(stream), buffer_size=1 << 16)
    if found == ".bz2":
        import bz2

        return _damage_as_corrupt(bz2.BZ2File(stream, mode="rb"))
    if found == ".xz":
        import lzma

        return _damage_as_corrupt(lzma.LZMAFile(stream, mode="rb"))
    return stream


def read_jsonl(
    path: Path, rejects: RejectSink, *, text_field: str = "text", max_bytes: int = DEFAULT_MAX_BYTES,
    id_field: str = "id",
) -> Iterator[Document]:
    """Yield the documents of a ``.jsonl`` or ``.jsonl.gz`` file; bad lines go to ``rejects``.
    A record's id is its ``id_field`` (``Document.from_dict``)."""
    try:
        stream = _open_binary(path)
    except OSError as err:
        raise InputError(f"{path}: cannot open ({err.strerror or err})") from err
    with stream:
        yield from _read_jsonl_stream(stream, str(path), rejects, text_field, max_bytes, id_field=id_field)


class _Unread:
    """A stream's ``readline``, with bytes put back in front of it (what follows a JSON
    array's ``]`` on its lines): one layer however many arrays a file holds."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.front = b""
        self._line, self._nth = 0, 0

    def place(self, line: int) -> int:
        """The place of a record among those that begin on ``line`` (1, 2, ...): the
        objects of arrays written on one line, and a record after a ']'."""
        self._nth = self._nth + 1 if line == self._line else 1
        self._line = line
        return self._nth

    def unread(self, data: bytes) -> None:
        self.front = data + self.front

    def readline(self, limit: int = -1) -> bytes:
        if not self.front:
            return self.stream.readline(limit)  # type: ignore[no-any-return]
        end = self.front.find(b"\n") + 1 or len(self.front)
        if limit >= 0:
            end = min(end, limit)
        line, self.front = self.front[:end], self.front[end:]
        if not self.front and not line.endswith(b"\n") and (limit < 0 or len(line) < limit):
            line += self.stream.readline(limit - len(line) if limit >= 0 else -1)  # the rest of its line
        return line


def _read_jsonl_stream(
    stream: BinaryIO, source: str, rejects: RejectSink, text_field: str, max_bytes: int, *, id_field: str = "id"
) -> Iterator[Document]:
    line_no = 0
    seen_record = False
    check_utf16 = hasattr(stream, "peek")
    lines = _Unread(stream)
    while True:
        try:
            if check_utf16:  # here: a stream that cannot be read is said below, as at any line
                check_utf16 = False
                if stream.peek(2)[:2] in _UTF16_BOMS:  # type: ignore[attr-defined]  # UTF-16: read as UTF-8
                    lines = _Unread(io.BufferedReader(_Utf8FromUtf16(stream), buffer_size=1 << 16))
            # at most a few bytes over the limit are held (the line's end besides): a longer
            # line is counted, not kept; the limit is on the record, not its "\r\n"
            raw = lines.readline(max_bytes + 3)
            if not raw:
                return
            start = raw.removeprefix(_UTF8_BOM)
            array = start.lstrip().startswith(b"[")
            if not seen_record and (array or start.strip() == b"{"):
                # a JSON array of records (an export, pretty-printed, one per line or all on
                # one line, however long), or a record spread over lines (`json.dump(indent=2)`,
                # `jq .`'s output, one object or many; a line per line of them was a bad_json
                # reject each): read object by object; after an array's "]" (on its line),
                # JSON Lines or another array again. (Records behind an added "[" on a line of
                # its own: the first object keeps its column, which the search for the next
                # object after a broken one goes by.)
                after = yield from _read_json_array(start if array else b"[\n" + start,
                                                    line_no + 1 if array else line_no, lines, source, rejects,
                                                    text_field, max_bytes, bracket=array, id_field=id_field)
                if after is None:
                    return
                line_no, seen_record = after - 1, False
                continue
            size = len(raw)
            if len(raw.rstrip(b"\r\n")) > max_bytes and not raw.endswith(b"\n"):
                while True:
                    rest = lines.readline(_DRAIN_CHUNK)
                    size += len(rest)
                    if not rest or rest.endswith(b"\n"):
                        break
                line_no += 1  # the record's size, not its line end's, as _parse_line counts it
                rejects.add(too_large_reject(source, line_no, size - (len(rest) - len(rest.rstrip(b"\r\n"))), max_bytes,
                                      raw))
                continue
        except _truncation_errors() as err:
            rejects.add(_stream_reject(source, line_no + 1, err))
            return
        except OSError as err:
            rejects.add(Reject(source, line_no + 1, "unreadable", str(err)))
            return
        line_no += 1
        # a byte-order mark (Windows tools write one) is no part of a record: at the start of
        # the file, or of a line (`cat a.jsonl b.jsonl` of two files that begin with one)
        raw = raw.removeprefix(_UTF8_BOM)
        if not raw.strip():
            continue
        seen_record = True
        doc = _parse_line(raw, source, line_no, rejects, text_field, max_bytes, lines.place(line_no),
                          id_field=id_field)
        if doc is not None:
            yield doc


_UTF8_BOM = b"\xef\xbb\xbf"
#: The first (and last) bytes of a Parquet file.
PARQUET_MAGIC = b"PAR1"


#: Records of each JSONL input that ``missing_text_field`` looks at, and the bytes it
#: reads of one input at most (a corpus of 10 MB records is judged on fewer).
FIELD_CHECK_RECORDS = 100
FIELD_CHECK_BYTES = 16 << 20
#: Characters a record's field holds on average, at least, for the check to take it for
#: the text when the field a run reads is there but null (else the run goes on).
FIELD_CHECK_TEXT_CHARS = 200


@dataclass(frozen=True, slots=True)
class FieldCheck:
    """What the first records of JSONL inputs hold when none of them has the field a
    run reads the text from (``missing_text_field``)."""

    records: int  #: records looked at
    files: list[str]  #: the JSONL inputs they came from
    #: each top-level field, in order of appearance, with the characters of its string values
    fields: dict[str, int]
    whole: bool = False  #: every record of those inputs was looked at (each ended within the look)

    def likely_text_field(self) -> str | None:
        """The field with the most characters of string values: where the text likely is
        (never a record's name, address or dates: ``{"id": "c"}`` holds no text)."""
        best = max(((k, n) for k, n in self.fields.items() if k.lower() not in _NOT_TEXT_FIELDS),
                   key=lambda kv: kv[1], default=(None, 0))
        return best[0] if best[1] else None


#: Fields that name, place or date a record: never advised as its text field.
_NOT_TEXT_FIELDS = frozenset({"id", "url", "uri", "source", "publisher", "lang", "language", "added", "created",
                              "date", "timestamp", "domain", "host"})


def record_text_field(record: dict[str, Any], text_field: str) -> str:
    """The field a record's text is read from: ``text_field``, or for a list of names
    (``--text-field text,raw_content``: corpora whose shards name it differently) the
    first of them whose value is a string (a dataframe's export carries both columns,
    one of them null), else the first the record has, else the first name."""
    if "," not in text_field:
        return text_field
    names = [n.strip() for n in text_field.split(",") if n.strip()]
    return next((n for n in names if isinstance(record.get(n), str)),
                next((n for n in names if n in record), names[0] if names else text_field))


def text_field_names(value: str) -> str:
    """``--text-field`` as a run records it: names stripped, joined by commas (``text,
    raw_content`` and ``text,raw_content`` are one option). Raises ``ValueError`` for an
    empty name."""
    names = [n.strip() for n in value.split(",")]
    if not all(names):
        raise ValueError(f"--text-field {value!r}: a field name is empty (names are separated by commas: "
                         "text,raw_content)")
    return ",".join(names)


def missing_text_field(paths: Iterable[str], *, input_format: str = "auto", text_field: str = "text",
                       records: int = FIELD_CHECK_RECORDS) -> FieldCheck | None:
    """What the JSONL inputs among ``paths`` hold instead of a document's text, when
    none of the first ``records`` records of any of them has ``blocks``,
    ``text_field`` or ``html``: a run would reject every one of them (a wrong
    ``--text-field``: RedPajama's ``raw_content``, a ``content`` field), and is
    better stopped before it starts. ``None`` when one record has one of them, or
    when no record could be judged: standard input and pipes are not read ahead,
    and a file that cannot be read or parsed, or holds a JSON array, is left to
    the run (its rejects say why). Inputs of another kind among them (pages, text,
    WARC: a folder of pages with a manifest.jsonl) are documents of the run: it is
    not refused for its JSONL."""
    seen = nulls = 0  # records looked at; those with the field, null
    files: list[str] = []
    fields: dict[str, int] = {}
    whole = True
    for found in _first_records(paths, input_format, records):
        if found is None:
            return None
        path, objects, ended = found
        whole = whole and ended
        if objects:
            files.append(path)
        for record in objects:
            # a null text (a dataframe's export of two columns) is rejected as a missing one is
            if "blocks" in record or isinstance(record.get(record_text_field(record, text_field)), str) \
                    or "html" in record:
                return None
            seen += 1
            name = record_text_field(record, text_field)
            nulls += name in record and record[name] is None
            _count_fields(fields, record)
    if seen and nulls == seen and max(fields.values(), default=0) < FIELD_CHECK_TEXT_CHARS * seen:
        # the field is there, null in every record looked at, and no other field holds
        # text: failed fetches first (a crawl's export), not a wrong --text-field
        return None
    return FieldCheck(seen, files, fields, whole) if seen else None


def missing_id_field(paths: Iterable[str], *, input_format: str = "auto", id_field: str = "id",
                     records: int = FIELD_CHECK_RECORDS) -> FieldCheck | None:
    """What the first records of the JSONL and Parquet inputs among ``paths`` hold, when
    none of the first ``records`` of any of them has ``id_field`` (not null): every
    document would be named by its file and line (a misspelt ``--id-field``). None when
    one has it, or when no record could be looked at (standard input, pipes, unreadable
    files are left to the run)."""
    seen = 0
    files: list[str] = []
    fields: dict[str, int] = {}
    whole = True
    for found in _first_records(paths, input_format, records):
        if found is None:
            continue
        path, objects, ended = found
        whole = whole and ended
        if objects:
            files.append(path)
        for record in objects:
            if record.get(id_field) is not None:
                return None
            seen += 1
            _count_fields(fields, record)
    return FieldCheck(seen, files, fields, whole) if seen else None


def _first_records(paths: Iterable[str], input_format: str, records: int
                   ) -> Iterator[tuple[str, list[dict[str, Any]], bool] | None]:
    """Per input, for a look ahead: (its name, its first ``records`` records, whether it
    ended within them) for a JSONL or Parquet file (``_first_objects``); None for an
    input that is none or cannot be read ahead (standard input, a pipe, a page, a
    folder). A file that cannot be read is passed over: the run's rejects say why."""
    unreadable: tuple[type[BaseException], ...] = (OSError, ValueError, *_truncation_errors())
    for path in paths:
        if path == STDIN or not Path(path).is_file():
            yield None
            continue
        try:
            fmt = file_format(path, input_format)
            found = _first_objects(Path(path), records, fmt) if fmt in ("jsonl", "parquet") else None
        except unreadable:
            continue
        yield None if found is None else (str(path), *found)


def _count_fields(fields: dict[str, int], record: dict[str, Any]) -> None:
    """Add each top-level field of ``record`` to ``fields``, with the characters of its string value."""
    for key, value in record.items():
        fields[key] = fields.get(key, 0) + (len(value) if isinstance(value, str) else 0)


def _first_objects(path: Path, records: int, fmt: str = "jsonl") -> tuple[list[dict[str, Any]], bool]:
    """The JSON objects among the first ``records`` non-blank lines of a JSONL file
    (lines that are no JSON object left out), read within ``FIELD_CHECK_BYTES``, and
    whether the file ended within them; none for a JSON array. A Parquet file's first
    rows."""
    if fmt == "parquet":
        from .parquet import first_rows

        rows = first_rows(path, records)
        return rows, len(rows) < records
    found: list[dict[str, Any]] = []
    budget = FIELD_CHECK_BYTES
    with _open_binary(path) as stream:
        lines = 0
        while lines < records and budget > 0:
            raw = stream.readline(budget)
            if not raw:
                return found, True
            budget -= len(raw)
            if not raw.endswith(b"\n") and budget <= 0:  # a record larger than what is left to read
                break
            raw = raw.removeprefix(_UTF8_BOM).strip()
            if not raw:
                continue
            if lines == 0 and raw.startswith(b"["):
                return [], False
            lines += 1
            try:
                record = json.loads(raw)
            except (ValueError, RecursionError):
                continue
            if isinstance(record, dict):
                found.append(record)
        return found, budget > 0 and not stream.read(1)
_JSON_GAP = re.compile(r"[\s,]*")


def _read_json_array(first: bytes, line_no: int, stream: _Unread, source: str, rejects: RejectSink,
                     text_field: str, max_bytes: int, bracket: bool = True,
                     id_field: str = "id") -> Generator[Document, None, int | None]:
    """The records of a file that is a JSON array of objects (``first`` is its line
    with the ``[``), one object at a time: each is a record as a JSONL line is, at the
    line where it starts (``_parse_line``: the same checks and rejects). Objects may
    span lines or share one; commas and line breaks between them do not matter, so a
    stray ``[`` before JSON Lines loses nothing. An object that cannot be parsed is one
    reject (``bad_json``; ``too_large`` past ``max_bytes``), and reading goes on at the
    next object; after the closing ``]``, the file is JSON Lines (or another array)
    again: what follows it is put back on ``stream``, and the generator returns the
    line it is on (None at the stream's end). A cut or damaged compressed stream ends
    it with a reject, as for JSON Lines.
    Without ``bracket``, ``first`` is a pretty-printed object's first line behind an
    added ``[``: objects one after another, with no ``]`` to come."""
    decoder = json.JSONDecoder()  # finds where each object ends; _parse_line reads it
    text = first.decode("utf-8", "surrogateescape")  # bytes that are not UTF-8 reach _parse_line as they were
    pos = text.index("[") + 1
    line = line_no  # the line of text[pos]
    ended = failed = bad_to_end = False

    def read_more(least: int) -> bool:
        """Append at least ``least`` characters (whole lines) to ``text``; False at the end."""
        nonlocal text, ended, failed
        got: list[str] = []
        size = 0
        while size < least:
            try:
                raw = stream.readline(max_bytes + 3)
            except _truncation_errors() as err:  # what came before is read; then the stream's reject
                rejects.add(_stream_reject(source, line + text.count("\n", pos), err))  # the line not read
                ended = failed = True
                break
            except OSError as err:
                rejects.add(Reject(source, line + text.count("\n", pos), "unreadable", str(err)))
                ended = failed = True
                break
            if not raw:
                ended = True
                break
            got.append(raw.decode("utf-8", "surrogateescape"))
            size += len(got[-1])
        text += "".join(got)
        return bool(got)

    def next_object() -> int:
        """Where the next object starts after the broken one at ``pos`` (or where the
        text ends): a line that opens an object (or closes the array) no deeper than
        this one opened, or, in an array written on one line, the next ``},{``."""
        line_start = text.rfind("\n", 0, pos) + 1
        column = pos - line_start
        one_line = "".join(text[line_start:pos].split()).strip(",[")  # objects before it on its line
        after = re.compile(r"\}[\s,]*(?=\{)" if one_line else r"\n[ \t]{0," + str(column) + r"}[{\]]")
        found = after.search(text, pos + 1)
        more = 1 << 16
        # no further than a few times the size limit: a huge document with no line where an
        # object could start (a pretty-printed 200 MB one) is not held whole; it is then
        # rejected a piece at a time
        while found is None and not ended and len(text) - pos < 4 * max_bytes and read_more(more):
            found = after.search(text, max(pos + 1, len(text) - 2 * more))
            more = min(2 * more, 1 << 24)
        stop = len(text) if found is None else found.start() + 1 if text[found.start()] == "\n" else found.end()
        # the broken object's own end, when its braces close (strings aside) before that: the
        # objects after it on its line are read ('[{"text": bad}, {"text": "good"}]')
        return _balanced_end(text, pos, stop) or stop

    while True:
        gap = _JSON_GAP.match(text, pos).end()  # type: ignore[union-attr]
        line += text.count("\n", pos, gap)
        pos = gap
        if pos >= len(text):
            text, pos = "", 0
            if not read_more(1):
                # the file ends inside the array: cut (what came after is lost), or a stray "[";
                # said unless a rejected object ran to the end (one reject for one piece of text)
                if not failed and not bad_to_end and bracket:
                    rejects.add(Reject(source, line_no, "truncated", f"the JSON array opened on line {line_no} has no "
                                       "closing ']': the file was cut (any records after the cut are missing), or "
                                       "the '[' is stray"))
                return None
            continue
        if text[pos] == "]":  # the end of the array: what follows is read as the file's start is
            stream.unread(text[pos + 1:].encode("utf-8", "surrogateescape"))
            return line
        want = 1 << 16
        parsed = True
        while True:
            try:
                end = decoder.raw_decode(text, pos)[1]
                break
            except ValueError as err:  # JSONDecodeError, or a number out of range
                cut = (getattr(err, "msg", "").startswith("Unterminated string")
                       or not text[getattr(err, "pos", len(text)):].strip())
                if cut and not ended and len(text) - pos <= max_bytes and read_more(want):
                    want *= 2  # an object over many lines: ever larger reads, not one parse per line
                    continue
                if failed:  # cut in the stream: its reject says so
                    return None
                end, parsed = next_object(), False
                if end - pos > max_bytes:
                    reason = "too_large"
                    why = f"an object of the array is larger than {max_bytes} bytes (the limit; {RAISE_LIMIT})"
                else:
                    reason = "bad_json"
                    why = f"not valid JSON in the array: {getattr(err, 'msg', err)}"  # its line: the buffer's
                rejects.add(Reject(source, line, reason, why, text[pos:end].encode("utf-8", "surrogateescape")[
                    :max_bytes]))
                break
        bad_to_end = not parsed and not text[end:].strip()
        nth = stream.place(line)  # objects of an array written on one line, broken ones too
        if parsed:
            doc = _parse_line(text[pos:end].encode("utf-8", "surrogateescape"), source, line, rejects, text_field,
                              max_bytes, nth, id_field=id_field)
            if doc is not None:
                yield doc
        line += text.count("\n", pos, end)
        pos = end
        if pos > 1 << 20:  # what is read is not kept
            text, pos = text[pos:], 0


_JSON_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[{}\[\]]')


def _balanced_end(text: str, start: int, stop: int) -> int | None:
    """Where the JSON value opening at ``text[start]`` closes, by its brackets (strings
    skipped), if it closes before ``stop``."""
    open_marks: list[str] = []
    for token in _JSON_TOKEN.finditer(text, start, stop):
        mark = token.group()
        if mark in "{[":
            open_marks.append("}" if mark == "{" else "]")
        elif mark in "}]":
            if not open_marks or open_marks.pop() != mark:
                return None  # brackets that do not pair: no telling where it ends
            if not open_marks:
                return token.end()
    return None


#: Bytes read at a time while skipping the rest of a line over the size limit.
_DRAIN_CHUNK = 1 << 20


def _parse_line(
    raw: bytes, source: str, line_no: int, rejects: RejectSink, text_field: str, max_bytes: int, nth: int = 1,
    id_field: str = "id",
) -> Document | None:
    if len(raw) > max_bytes and len(raw.rstrip(b"\r\n")) > max_bytes:
        rejects.add(too_large_reject(source, line_no, len(raw.rstrip(b"\r\n")), max_bytes, raw))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        reason = "binary" if b"\x00" in raw else "bad_encoding"
        rejects.add(Reject(source, line_no, reason, f"not UTF-8: {err.reason} at byte {err.start}", raw))
        return None
    try:
        # without its line end: a cut string is "Unterminated string", not "Invalid control
        # character", and an error's "line 1" is this record's only line
        record = _DECODER.decode(text.rstrip("\r\n"))
    except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
        rejects.add(Reject(source, line_no, "bad_json", f"not valid JSON: {err}", raw))
        return None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(record):
        rejects.add(Reject(source, line_no, "bad_encoding",
                           "a \\uXXXX escape gives a lone surrogate: not representable in UTF-8", raw))
        return None
    return record_document(record, source, line_no, rejects, text_field, raw, nth, id_field=id_field)


def record_document(record: Any, source: str, line_no: int, rejects: RejectSink, text_field: str,
                    raw: bytes | Callable[[], bytes], nth: int = 1, *, id_field: str = "id") -> Document | None:
    """The document of one parsed record (a JSONL line's object, a Parquet row), or None
    with its reject added: a page in it is cut into blocks under the page time limit.
    ``raw`` is the record as the rejects file keeps it, or what makes it (only a reject
    needs it). A record without an id (in ``id_field``, or null there) is named by its file
    and line (``a.jsonl:3``), the
    ``nth`` object of a line by its place too (``a.json:1:2``)."""
    if isinstance(record, dict):
        # a null text (of any --text-field name: text,raw_content), blocks or html counts
        # as missing, as in a Parquet row (a dataframe's export has every column in every
        # row): not read, not passed through (a null 'raw_content' beside the text read)
        bearing = (*(name.strip() for name in text_field.split(",")), "blocks", "html")
        nulls = [key for key in bearing if key in record and record[key] is None]
        if nulls:
            record = {key: value for key, value in record.items() if value is not None or key not in nulls}
            if not any(key in record for key in bearing):
                rejects.add(Reject(source, line_no, "bad_schema", f"no text: {', '.join(nulls)} null in this record",
                                   _raw(raw)))
                return None
        if "," in text_field:
            text_field = record_text_field(record, text_field)
    page = (isinstance(record, dict) and "blocks" not in record and text_field not in record
            and isinstance(record.get("html"), str))
    if page and _looks_binary(record["html"][:4096].encode("utf-8", "replace")):  # as for a page file
        rejects.add(Reject(source, line_no, "binary", "the 'html' field is no HTML page: binary data", _raw(raw)))
        return None
    if page and record["html"][:1024].lstrip()[:1] in ("{", "[") \
            and _is_json(record["html"].encode("utf-8", "surrogatepass")):
        # an API's answer stored as the page (as for a page file): its JSON is no article
        rejects.add(Reject(source, line_no, "not_html", "the 'html' field is JSON, not HTML", _raw(raw)))
        return None
    try:
        # a page in the record is cut into blocks here: the same time limit as a page file
        with time_limit(PAGE_SECONDS) if page else contextlib.nullcontext():
            default_id = ("" if isinstance(record, dict) and record.get(id_field) is not None
                          else f"{Path(source).name}:{line_no}" + (f":{nth}" if nth > 1 else ""))
            doc = Document.from_dict(record, default_id=default_id, text_field=text_field,
                                     max_blocks=MAX_BLOCKS, id_field=id_field)
    except SchemaError as err:
        rejects.add(Reject(source, line_no, "bad_schema", str(err), _raw(raw)))
        return None
    except TooManyBlocks as err:
        rejects.add(Reject(source, line_no, "too_large", str(err), _raw(raw)))
        return None
    except PageTimeout:
        rejects.add(Reject(source, line_no, "timeout", f"cutting the page into blocks took more than "
                           f"{PAGE_SECONDS} s", _raw(raw)))
        return None
    except PageError as err:
        rejects.add(Reject(source, line_no, "malformed", str(err), _raw(raw)))
        return None
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as err:  # noqa: BLE001 - one record that breaks the reader must not end the run
        logger.debug("record %s:%d cannot be read", source, line_no, exc_info=True)
        rejects.add(Reject(source, line_no, "malformed", f"the record cannot be read ({type(err).__name__}: {err})",
                           _raw(raw)))
        return None
    if all(is_blank(b.text) for b in doc.blocks):
        rejects.add(Reject(source, line_no, "no_text", "the document has no text", _raw(raw)))
        return None
    return doc


def _raw(raw: bytes | Callable[[], bytes]) -> bytes:
    return raw if isinstance(raw, bytes) else raw()


def _finite_float(text: str) -> float:
    """A JSON number as a float; one out of a float's range (``1e400``) is refused, as
    ``NaN`` and ``Infinity`` are: it would be written back as ``Infinity``, no JSON."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


#: Only a ``\uD800``-``\uDFFF`` escape can put a surrogate into parsed JSON (UTF-8
#: bytes cannot encode one), so only records with such an escape are walked.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_constant(name: str) -> Any:
    """``NaN``/``Infinity`` are not JSON (RFC 8259); echoing them would write invalid output."""
    raise ValueError(f"{name} is not a JSON value")


#: One decoder for every line (``json.loads`` with options builds one a call).
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a parsed JSON value holds a string with an unpaired surrogate (``"\\ud800"``)."""
    todo = [value]  # a stack, not recursion: JSON nests as deep as the parser allowed
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return False


def read_text(path: Path, rejects: RejectSink, *, max_bytes: int = DEFAULT_MAX_BYTES,
              html: bool = False) -> Iterator[Document]:
    """Yield the one document of a plain text file, or of an HTML page with
    ``html=True`` (``.gz``/``.zst`` allowed), or reject it.

    A text file's blocks are paragraphs: split on blank lines when it has any,
    else one block per non-empty line; a page's come from ``html.html_to_blocks``.
    The document id is the file name without extensions.
    """
    try:
        size = path.stat().st_size
        if size > max_bytes and not _compression_of(_head_of(path, 10, decompress=False)):
            # (a compressed file's size is its text's once decompressed: below)
            with open(path, "rb") as f:  # the rest is never read
                head = f.read(max_bytes)
            rejects.add(too_large_reject(str(path), 1, size, max_bytes, head))
            return
        stream = _open_binary(path)
    except OSError as err:
        raise InputError(f"{path}: cannot open ({err.strerror or err})") from err
    with stream:
        yield from _read_text_stream(stream, str(path), document_id_for(path), rejects, max_bytes, html=html)


def _read_text_stream(
    stream: BinaryIO, source: str, doc_id: str, rejects: RejectSink, max_bytes: int, html: bool = False
) -> Iterator[Document]:
    try:
        data = stream.read(max_bytes + 1)
        too_large = len(data) > max_bytes
        at_least = False
        if too_large:  # count the rest without holding it, up to a bound
            size, cap = len(data), max(COUNTED_PAST_LIMIT * max_bytes, COUNTED_AT_LEAST)
            while size <= cap and (chunk := stream.read(min(1 << 20, cap + 1 - size))):
                size += len(chunk)
            at_least = size > cap
            size = min(size, cap)
    except _truncation_errors() as err:
        rejects.add(_stream_reject(source, 1, err))
        return
    except OSError as err:
        rejects.add(Reject(source, 1, "unreadable", str(err)))
        return
    if too_large:
        rejects.add(too_large_reject(source, 1, size, max_bytes, data, at_least))
        return
    if html:
        doc = _page_document(data, source, 1, doc_id, None, rejects)
        if doc is not None:
            yield doc
        return
    # UTF-16 with its mark has NUL bytes only when it holds ASCII ("中文" has none)
    encoding = _utf16(data) if b"\x00" in data or data[:2] in _UTF16_BOMS else "utf-8-sig"
    if encoding is None:
        rejects.add(Reject(source, 1, "binary", "the file holds NUL bytes: not text", data))
        return
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:  # a guess (HTML declares its charset, text does not) could be garbage
        rejects.add(Reject(source, 1, "bad_encoding", _not_decoded(data, encoding, err), data))
        return
    paragraphs = split_paragraphs(text)
    if not paragraphs:
        rejects.add(Reject(source, 1, "no_text", "the file has no text"))
        return
    if len(paragraphs) > MAX_BLOCKS:
        rejects.add(Reject(source, 1, "too_large", str(TooManyBlocks(MAX_BLOCKS)), data[:65536]))
        return
    yield Document.from_texts(paragraphs, id=doc_id)


def _not_decoded(data: bytes, encoding: str, err: UnicodeDecodeError) -> str:
    """Why a text file is no ``encoding``, and how to mend it: a UTF-8 file with a few
    stray bytes (a byte of windows-1252 pasted in) is mended by dropping them, while
    converting it from Latin-1 would turn each of its own letters to mojibake."""
    from .html import MOSTLY_UTF8  # the share a page is read as UTF-8 within

    # the codec's offset is into what it decoded: after a byte-order mark it skipped; and a
    # line is counted in text (a UTF-16 code unit may hold the byte of a newline)
    at = err.start + len(data) - len(err.object)
    line = err.object[:err.start].decode(encoding, errors="replace").count("\n") + 1
    where = f"at byte {at} (line {line}): {err.reason}"
    if encoding != "utf-8-sig":
        return f"not {encoding.upper()} {where}"
    tolerant = data.decode("utf-8", errors="replace")
    broken = tolerant.count("\ufffd") - data.count("\ufffd".encode())
    non_ascii = len(tolerant) - len(tolerant.encode("ascii", "ignore"))
    if broken <= MOSTLY_UTF8 * non_ascii:
        return (f"UTF-8 but for {broken} stray byte sequence{'' if broken == 1 else 's'}, the first {where}; drop "
                f"{'it' if broken == 1 else 'them'} (iconv -f UTF-8 -t UTF-8 -c FILE) or mend by hand")
    return f"not UTF-8 {where}; convert it first from its encoding (iconv -f LATIN1 -t UTF-8 FILE, if Latin-1)"


def _utf16(data: bytes) -> str | None:
    """The codec of a text file in UTF-16 (as Windows tools save text) or UTF-32: by
    its byte-order mark, else (UTF-16) when its NUL bytes are the high bytes of ASCII
    characters (every other byte); None for anything else with NUL bytes (binary data)."""
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):  # UTF-32's mark begins as UTF-16's does
        return "utf-32"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd >= 0.6 * half and even == 0:
        return "utf-16-le"
    if even >= 0.6 * half and odd == 0:
        return "utf-16-be"
    return None


#: Seconds one HTML page may take to be cut into blocks before it is rejected (``timeout``).
PAGE_SECONDS = 20.0


class PageTimeout(Exception):
    """A page took longer than its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ``PageTimeout`` in this block after ``seconds``: by a signal in the main
    thread (POSIX), else (a Dask worker runs tasks in a thread) by ``_thread_time_limit``."""
    if seconds <= 0:
        yield
        return
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        with _thread_time_limit(seconds):
            yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise PageTimeout

    outer = signal.getitimer(signal.ITIMER_REAL)[0]  # a caller's own alarm: keep it
    if outer and outer <= seconds:
        yield  # it fires first anyway
        return
    previous = signal.signal(signal.SIGALRM, expire)
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 1e-3))


@contextlib.contextmanager
def _thread_time_limit(seconds: float) -> Iterator[None]:
    """``time_limit`` where no signal can interrupt: a timer thread raises ``PageTimeout``
    in this thread, at its next Python instruction (a long C call, such as libxml2
    parsing, ends first, as with the signal)."""
    import ctypes

    ident = ctypes.c_ulong(threading.get_ident())
    lock = threading.Lock()
    state = {"running": True, "fired": False}

    def expire() -> None:
        with lock:
            if state["running"]:
                state["fired"] = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ident, ctypes.py_object(PageTimeout))

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            state["running"] = False
            if state["fired"]:  # fired as the block ended and not raised yet: never raise it later
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ident, None)


#: The first bytes of files a crawl saves under a page's name that are no page: their
#: text would be read as one (a PDF's header and streams made a block of "%PDF-1.5 ... xœí").
_NOT_PAGES = ((b"%PDF-", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (docx, epub, ...)"),
              (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
              (b"%!PS", "a PostScript document"), (b"\xd0\xcf\x11\xe0", "an MS Office document"))


def _not_a_page(data: bytes) -> str | None:
    """What ``data`` is when its first bytes name a format that is no page, else None."""
    head = data[:8].lstrip()
    return next((kind for magic, kind in _NOT_PAGES if head.startswith(magic)), None)


def _looks_binary(data: bytes) -> bool:
    """Bytes that are no page: a known binary format (``_NOT_PAGES``), NUL bytes or
    mostly control characters at the start."""
    if _not_a_page(data):
        return True
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte-order mark: NULs are expected
        return False
    controls = sum(1 for c in head if c < 9 or 13 < c < 32)  # NUL included
    if b"\x00" in head:
        # a stray NUL in a page's markup (a CMS's, a form's) is no binary data: browsers read
        # it as U+FFFD, as the parser does; a page of one early NUL was rejected whole
        return not (_markup_first(head) and controls <= len(head) // 100)
    return len(head) > 0 and controls > len(head) // 10


def json_text_as(value: Any, kind: type) -> Any:
    """``value`` as the ``kind`` (dict, list) of JSON it holds when it is a string of JSON
    text (Sieve's Parquet output writes ``metadata`` and annotated ``blocks`` so), else
    ``value`` as it is."""
    opener = "{" if kind is dict else "["
    if not isinstance(value, str) or not value.lstrip().startswith(opener):
        return value
    try:
        found = json.loads(value)
    except (ValueError, RecursionError):
        return value
    return found if isinstance(found, kind) else value


def _is_json(data: bytes) -> bool:
    """Whether a page's bytes are a JSON object or array (after blanks and a BOM)."""
    if data[:1024].removeprefix(_UTF8_BOM).lstrip()[:1] not in (b"{", b"["):
        return False  # (most pages: no copy of the page is made)
    try:
        json.loads(data.removeprefix(_UTF8_BOM))
    except (ValueError, RecursionError):  # UnicodeDecodeError too; nested too deep for a page's JSON
        return False
    return True


def _page_document(data: bytes, source: str, position: int, doc_id: str, url: str | None,
                   rejects: RejectSink, http_charset: str | None = None) -> Document | None:
    """The document of one HTML page's bytes, or ``None`` (rejected)."""
    from .html import html_to_blocks, page_fields

    codec = _utf16(data) if b"\x00" in data[:4096] and data[:2] not in _UTF16_BOMS else None
    if codec in ("utf-16-le", "utf-16-be"):  # UTF-16 without its mark (the NULs of ASCII tell it): no binary
        data, http_charset = data.decode(codec, "replace").encode("utf-8"), "utf-8"
    if _looks_binary(data):
        rejects.add(Reject(source, position, "binary", f"not an HTML page: {_not_a_page(data) or 'binary data'}",
                           data[:65536]))
        return None
    if _is_json(data):  # an API's answer served as a page: its JSON is no article
        rejects.add(Reject(source, position, "not_html", "the page is JSON, not HTML", data[:65536]))
        return None
    try:
        found: dict[str, str] = {}
        with time_limit(PAGE_SECONDS):
            blocks = html_to_blocks(data, http_charset, found=found, max_blocks=MAX_BLOCKS)
    except TooManyBlocks as err:
        rejects.add(Reject(source, position, "too_large", str(err), data[:65536]))
        return None
    except PageTimeout:
        rejects.add(Reject(source, position, "timeout", f"cutting the page into blocks took more than "
                           f"{PAGE_SECONDS} s ({len(data)} bytes)", data[:65536]))
        return None
    except PageError as err:
        rejects.add(Reject(source, position, "malformed", str(err), data[:65536]))
        return None
    except Exception as err:  # noqa: BLE001 - libxml2 on hostile markup: a reject, never a crash
        rejects.add(Reject(source, position, "malformed", f"HTML cannot be parsed: {type(err).__name__}: {err}",
                           data[:65536]))
        return None
    if not blocks:
        rejects.add(Reject(source, position, "no_text", "the page has no text", data[:65536]))
        return None
    # a bare HTML file's url (and so its publisher): the canonical URL the page names
    # the page's title (a field of its record, as a JSONL page's): finds its headline
    return Document(id=doc_id, blocks=tuple(blocks), url=url or found.get("url"), extra=page_fields(found))


def read_warc(path: Path, rejects: RejectSink, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Document]:
    """Yield a document per HTML response record of a WARC file (``.warc``, ``.warc.gz``,
    ``.warc.zst``); other records are skipped (counted by reason), bad ones rejected."""
    try:
        raw = open(path, "rb")
    except OSError as err:
        raise InputError(f"{path}: cannot open ({err.strerror or err})") from err
    with raw:
        yield from _read_warc_stream(raw, str(path), rejects, max_bytes, size=path.stat().st_size)


def _read_warc_stream(stream: BinaryIO, source: str, rejects: RejectSink, max_bytes: int,
                      size: int | None = None) -> Iterator[Document]:
    """The documents of a WARC stream. Where a record cannot be parsed (a broken
    header, a wrong length, bytes between records), it is rejected as ``malformed``
    and reading goes on at the next record: the next ``WARC/1.`` line, or in a
    ``.warc.gz`` the next gzip member holding one. A ``.warc.zst`` is decompressed
    here and searched like a plain WARC; a stream that cannot seek (standard input)
    is read through ``_Rewindable``, which keeps the bytes since the last good
    record for the search."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    stream, decompressed, gz = _warc_input(stream)
    # offsets in a .warc.zst are in its decompressed bytes; elsewhere in the bytes read
    unit = " of the decompressed stream" if decompressed else ""
    n = 0  # records met, in order (positions in rejects)
    pos = 0  # where this pass of the iterator starts
    pending: int | None = None  # a record start after which unparsable bytes were met
    reading = False
    while True:
        last: int | None = None  # start of the last record read in this pass
        resume: int | None = None  # where a record whose length runs over the next one is left for
        try:
            stream.seek(pos)
            for record in ArchiveIterator(stream, parse_http=False, auto_decode="none", fsspec_args=False):
                if pending is not None:  # a new start worked: what lay between was not WARC
                    n += 1
                    rejects.add(Reject(source, n, "malformed", f"the bytes after the record at byte {pending}{unit} "
                                       f"cannot be parsed as WARC; skipped to the record at byte {pos}"))
                    pending = None
                n += 1
                position = last = record.stream_pos
                if isinstance(stream, _Rewindable):  # a search after a broken record starts here
                    stream.forget(position)
                kind = record.record_type
                length = record.content_length
                header = _header_length(stream, position) if not gz else 0
                if header is None or (gz and not (record.headers.get("Content-Length") or "").strip().isdigit()
                                      and _gzip_member_cut(stream, position)):
                    # fastwarc reads the start of a header quietly (a .warc.gz member cut in its
                    # header gives a record without its Content-Length, or with an empty one when
                    # the cut falls just after "Content-Length:": 0 bytes, "malformed", or
                    # skipped as not_http when the cut falls in its Content-Type)
                    rejects.add(Reject(source, n, "truncated", f"WARC record at byte {position}{unit} ends in its "
                                       "header (a cut file)"))
                    return
                if _merged_header(record):  # a record cut in its header runs into the next one's
                    nxt = _next_warc_record(stream, position + 1, gz=gz, anywhere=True)
                    if nxt is not None:
                        rejects.add(Reject(source, n, "malformed", f"WARC record at byte {position}{unit}: its "
                                           f"header holds the start of the next record, at byte {nxt} (a record "
                                           "cut short)"))
                        resume = nxt
                        break
                # a response holds a page; a conversion (Common Crawl's WET files) the text
                # extracted from one
                # (and a resource record of a page: a site's files as warcit stores them, with no HTTP header)
                page_resource = (kind == WarcRecordType.resource
                                 and "html" in (record.headers.get("Content-Type") or "").lower())
                wanted = (kind in (WarcRecordType.response, WarcRecordType.conversion) or page_resource) \
                    and length <= max_bytes
                reading = True  # a cut met now is in record n, not after it
                block = record.reader.read() if wanted else b""
                got = len(block) if wanted else record.reader.consume()
                reading = False
                # the stream ends before the record does (a cut file, or a wrong length), or the
                # block holds the start of the next record (a wrong length that ends in it)
                inside = _NEXT_RECORD_INSIDE.search(block) if wanted else None
                mid_line: int | None = None  # where a whole record starts mid-line inside this one
                if inside is not None and not block[:inside.start()].endswith(b"\r\n\r\n"):
                    # not after a blank line: a record cut short runs into the next one, or the
                    # page shows WARC text; a real record there ends where a record ends
                    mid_line = None if gz else _whole_record_inside(stream, position)
                    if mid_line is None:
                        inside = None
                if wanted and header and got == length and inside is None and not _ends_cleanly(
                        stream, position + header + length):
                    # a Content-Length shorter than the record: the block is cut inside it (a page
                    # that ends mid-word), and what is left of it would be one more "record"
                    nxt = _next_warc_record(stream, position + 1, gz=gz)
                    rejects.add(Reject(source, n, "malformed", f"WARC record at byte {position}{unit}: its "
                                       f"Content-Length {length} ends inside the record (no blank line after its "
                                       "block); " + (f"skipped to the record at byte {nxt}" if nxt is not None
                                                     else "nothing after it is read"),
                                       block[:65536] or None, warc=_warc_where(record, position)))
                    if nxt is None:
                        return
                    resume = nxt
                    break
                if got < length or inside is not None:
                    nxt = mid_line if mid_line is not None else _next_warc_record(stream, position + 1, gz=gz)
                    if nxt is not None:  # records follow: the Content-Length is wrong, not the file cut
                        rejects.add(Reject(source, n, "malformed", f"WARC record at byte {position}{unit}: its "
                                           f"Content-Length {length} runs past the next record, at byte {nxt} "
                                           "(a wrong length, or a record cut short)", block[:65536] or None))
                        resume = nxt
                        break
                if kind not in (WarcRecordType.response, WarcRecordType.conversion) and not page_resource:
                    if kind == WarcRecordType.unknown and not _WARC_TYPE.fullmatch(
                            (record.headers.get("WARC-Type") or "").strip()):
                        # no WARC-Type read: a header cut short, or lines ended by LF alone (the
                        # whole file then reads as one header): no record to skip quietly
                        rejects.add(Reject(source, n, "malformed", f"WARC record at byte {position}{unit}: its "
                                           "header has no WARC-Type (cut short, or lines not ended by CRLF)",
                                           block[:65536] or None))
                        continue
                    rejects.skip(f"warc_{_record_type_name(kind)}")
                    continue
                if length > max_bytes:
                    rejects.add(Reject(source, n, "too_large", f"WARC record at byte {position}{unit}: "
                                       f"{length} bytes > limit {max_bytes} ({RAISE_LIMIT})",
                                       warc=_warc_where(record, position)))
                    continue
                if len(block) < length:
                    rejects.add(Reject(source, n, "truncated", f"WARC record at byte {position}{unit} ends early: "
                                       f"{len(block)} of {length} bytes", block[:65536],
                                       warc=_warc_where(record, position)))
                    return
                doc = (_warc_response(block, record, source, n, rejects, position, max_bytes)
                       if kind == WarcRecordType.response
                       else _warc_resource(block, record, source, n, rejects, position) if page_resource
                       else _warc_conversion(block, record, source, n, rejects, position))
                if doc is not None:
                    yield doc
        except _truncation_errors() as err:
            rejects.add(_stream_reject(source, n if reading else n + 1, err))
            return
        except (OSError, ValueError, RuntimeError) as err:
            nxt = _next_warc_record(stream, (last if last is not None else pos) + 1, gz=gz)
            if last is not None and nxt is not None:
                pending, pos = last, nxt  # reported once, when the next start works or fails
                continue
            if n == 0 and nxt is None and pos == 0:
                what = f"no WARC record could be read ({err}): not a WARC file?"
            else:
                after = last if last is not None else pending
                what = ((f"the bytes after the record at byte {after}{unit}" if after is not None
                         else f"the record at byte {pos}{unit}") + f" cannot be parsed as WARC ({err}); "
                        + (f"skipped to the record at byte {nxt}" if nxt is not None else "nothing after it is read"))
            rejects.add(Reject(source, n + 1, "malformed", what))
            n, pending = n + 1, None
            if nxt is None:
                return
            pos = nxt
            continue
        if resume is not None:
            pos = resume
            continue
        if pending is not None:  # the new start read nothing: the rest was not WARC either
            rejects.add(Reject(source, n + 1, "malformed", f"the bytes after the record at byte {pending}{unit} "
                               "cannot be parsed as WARC"))
        if n == 0 and size:
            rejects.add(Reject(source, 1, "malformed", "no WARC record could be read: not a WARC file?"))
        # standard input: its size once read to its end
        end = (size or _rewindable_end(stream, last)) if gz and pending is None else None
        if end and last is not None:
            cut = _gzip_cut_after(stream, last, end)
            if cut:  # fastwarc ends quietly at a member cut in its first bytes
                rejects.add(Reject(source, n + 1, "truncated", f"the last {cut} bytes of the input, after the record "
                                   f"at byte {last}, are no whole gzip member (a cut file)"))
        return


def _rewindable_end(stream: BinaryIO, start: int | None) -> int | None:
    """The size of a stream read once (``_Rewindable``) that can still go back to
    ``start``, read to its end; None for any other."""
    if not isinstance(stream, _Rewindable) or start is None or start < stream.earliest:
        return None
    errors: tuple[type[BaseException], ...] = (OSError, *_STREAM_ERRORS)
    try:
        stream.seek(start)
        while stream.read(1 << 20):
            pass
    except errors:  # a damaged end: the reader has said so, or will
        return None
    return stream.tell()


def _header_length(stream: BinaryIO, start: int) -> int | None:
    """The bytes of the header of the (uncompressed) WARC record at ``start``, its
    blank line included; 0 when no blank line is in its first 8 kB (or the stream
    cannot go back there); None when the stream ends inside it (a cut file; a header
    of lines ended by LF alone is not cut, but malformed). The position is kept."""
    here = stream.tell()
    try:
        stream.seek(start)
        head = stream.read(8192)
    except (OSError, ValueError):  # io.UnsupportedOperation: kept no more
        return 0
    finally:
        stream.seek(here)
    end = head.find(b"\r\n\r\n")
    if end >= 0:
        return end + 4
    return None if len(head) < 8192 and b"\n\n" not in head else 0


def _ends_cleanly(stream: BinaryIO, block_end: int) -> bool:
    """Whether a WARC record's block ending at ``block_end`` is followed by the line
    break that ends a record, or by the end of the stream. The position is kept."""
    here = stream.tell()
    try:
        stream.seek(block_end)
        return stream.read(1) in (b"\r", b"\n", b"")
    except (OSError, ValueError):
        return True
    finally:
        stream.seek(here)


def _gzip_cut_after(stream: BinaryIO, start: int, size: int) -> int:
    """How many bytes at the end of a .warc.gz, from the gzip member at ``start`` on,
    are no whole member (0 when every member there is whole; also when ``start`` is
    not where a member begins: a file of one member, which fastwarc reads itself)."""
    stream.seek(start)
    if stream.read(2) != b"\x1f\x8b":
        return 0
    pos = start
    first = True
    while pos < size:
        stream.seek(pos)
        if not first and stream.read(2) != b"\x1f\x8b":
            return 0  # bytes after the last member that begin no member (a newline): not a cut one
        stream.seek(pos)
        d = zlib.decompressobj(31)
        consumed = 0
        try:
            while not d.eof:
                chunk = stream.read(1 << 16)
                if not chunk:  # the member is cut (the one fastwarc read last was whole: no member start)
                    return 0 if first else size - pos
                data = chunk
                while data and not d.eof:  # its output is not kept: bounded, whatever it inflates to
                    d.decompress(data, 1 << 20)
                    data = d.unconsumed_tail
                consumed += len(chunk) - (len(d.unused_data) if d.eof else 0)
        except zlib.error:
            # the member fastwarc read last does not inflate from here: ``start`` was no
            # member start (in a file of one member, records lie mid-member)
            return 0 if first else size - pos
        if first and not _inflates_to_warc(stream, start):
            return 0
        first = False
        pos += consumed
    return 0


def _gzip_member_cut(stream: BinaryIO, start: int) -> bool:
    """Whether the gzip member at ``start`` ends before its end (a cut file) within its
    first 64 kB of input. The position is kept."""
    here = stream.tell()
    try:
        stream.seek(start)
        raw = stream.read(1 << 16)
        if raw[:2] != b"\x1f\x8b":
            return False
        d = zlib.decompressobj(31)
        d.decompress(raw, 1 << 16)
        # a member longer than what was read, or one inflating to more than 64 kB, is not judged
        return not d.eof and len(raw) < 1 << 16 and not d.unconsumed_tail
    except (OSError, ValueError, zlib.error):
        return False
    finally:
        stream.seek(here)


def _inflates_to_warc(stream: BinaryIO, start: int) -> bool:
    """Whether the gzip member at ``start`` begins a WARC record."""
    stream.seek(start)
    return _gzip_member_is_warc(stream.read(1 << 12))


#: A WARC-Type value (a record of a type fastwarc does not know is skipped and counted;
#: one whose header could not be read has none, or the rest of the file in it).
_WARC_TYPE = re.compile(r"[\w-]+")

#: The start of a record (its version line, then header lines up to WARC-Type) where it
#: should not be: inside another record's block, whose text would hold the next record
#: (read twice, once as that text). After a wrong Content-Length it follows a blank
#: line; after a record cut short (a truncated file with another appended) it follows
#: whatever byte the cut left, even mid-line (``_whole_record_inside`` then checks
#: it is a whole record, not a page quoting WARC).
_NEXT_RECORD_INSIDE = re.compile(rb"WARC/1\.[01]\r\n(?:[!-~][^\r\n]*\r\n){0,40}?WARC-Type: ")


_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: A skippable zstd frame holding the dictionary of the frames after it (the WARC zstd format).
_ZSTD_DICTIONARY_MAGIC = b"\x5d\x2a\x4d\x18"


def _warc_input(stream: BinaryIO) -> tuple[BinaryIO, bool, bool]:
    """``stream`` ready for ``_read_warc_stream``: seekable, and decompressed when it
    is zstd (fastwarc reads zstd itself, but a search for the next record needs the
    plain bytes); whether it was decompressed; whether it is gzip. A gzip stream
    stays as it is: fastwarc reads it, and the search looks for its members."""
    if _seekable(stream):
        stream.seek(0)
        magic = stream.read(10)
        stream.seek(0)
    else:
        if not hasattr(stream, "peek"):
            stream = io.BufferedReader(stream)  # type: ignore[arg-type, type-var]
        magic = stream.peek(10)[:10]
    kind = _compression_of(magic)
    if kind == ".zst":
        return _Rewindable(_ZstdFrames(stream)), True, False  # type: ignore[return-value]
    if kind in (".bz2", ".xz"):  # .warc.bz2, .warc.xz: fastwarc reads neither
        import bz2
        import lzma

        opened = bz2.BZ2File(stream, mode="rb") if kind == ".bz2" else lzma.LZMAFile(stream, mode="rb")
        return _Rewindable(_EndsAsCut(opened)), True, False  # type: ignore[return-value]
    return (stream if _seekable(stream) else _Rewindable(stream)), False, kind == ".gz"  # type: ignore[return-value]


def _seekable(stream: BinaryIO) -> bool:
    try:
        return stream.seekable()
    except (AttributeError, OSError, ValueError):
        return False


class _EndsAsCut(io.RawIOBase):
    """A decompressor whose damaged data ends the stream as a cut does (``EOFError``,
    a ``truncated`` reject): bz2 raises OSError for it, which the WARC reader would
    take for a record it can skip and read again."""

    def __init__(self, source: Any) -> None:
        self._source = source

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self._source.close()  # a decompressor given a file object leaves that open
        super().close()

    def readinto(self, buffer: Any) -> int:
        import lzma

        try:
            # read1: at most what one step decompresses. readinto fills the whole buffer,
            # and what it held when the damage was met was lost: whole records before it
            data = self._source.read1(len(buffer))  # a cut: EOFError, a truncated reject
        except (OSError, lzma.LZMAError) as err:
            raise DamagedStream(str(err)) from err
        buffer[: len(data)] = data
        return len(data)


def _damage_as_corrupt(opened: Any) -> BinaryIO:
    """A bzip2 or xz file whose damaged data is a ``corrupt`` reject (bz2 raises
    OSError for it, lzma LZMAError), its cut a ``truncated`` one; peekable."""
    return io.BufferedReader(_EndsAsCut(opened))  # type: ignore[return-value]


#: The largest window a zstd frame may need (``zstd --long=31`` writes 2 GiB ones; the
#: library's default, 128 MiB, refused those as damaged data). The memory is taken only
#: by a frame that asks for it.
ZSTD_MAX_WINDOW = 1 << 31


class _ZstdFrames(io.RawIOBase):
    """The decompressed bytes of a stream of zstd frames, read forward only, with the
    dictionary of a WARC zstd file (a skippable frame first) if it has one. Unlike
    ``zstandard``'s stream reader, which ends quietly where the input does, it
    raises ``ZstdError`` when the last frame is incomplete (a cut file)."""

    def __init__(self, raw: BinaryIO, *, closefd: bool = False) -> None:
        self._raw = raw
        self._closefd = closefd  # close ``raw`` too (never standard input)
        self._context: Any = None  # made at the first read, once the dictionary is known
        self._frame: Any = None  # the decompressor of the frame being read
        self._out = bytearray()
        self._done = False
        self._cut = False
        self._damage: Exception | None = None  # a damaged frame, raised once the frames before it are read
        self._head = b""  # read while looking for a dictionary, not yet decompressed
        self._input = b""  # compressed bytes read and not yet decompressed, from _at on
        self._at = 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self._closefd and not self.closed:
            self._raw.close()
        super().close()

    def _start(self) -> Any:
        import zstandard

        head = self._raw.read(8)
        if head[:4] != _ZSTD_DICTIONARY_MAGIC or len(head) < 8:
            self._head = head
            return zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        self._head = b""
        size = int.from_bytes(head[4:], "little")
        dictionary = self._raw.read(size)
        if len(dictionary) < size:
            raise zstandard.ZstdError("the zstd dictionary frame ends early: the stream is cut")
        if dictionary[:4] == _ZSTD_MAGIC:  # the format allows it to be compressed itself
            dictionary = zstandard.ZstdDecompressor().decompressobj().decompress(dictionary)
        return zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(dictionary),
                                          max_window_size=ZSTD_MAX_WINDOW)

    def read(self, size: int = -1) -> bytes:
        import zstandard

        if self._context is None:
            self._context = self._start()
        while not self._done and (size < 0 or len(self._out) < size):
            if self._at >= len(self._input):
                self._input, self._at = self._head + self._raw.read(_READ_CHUNK), 0
                self._head = b""
                if not self._input:
                    self._done, self._cut = True, self._frame is not None
                    break
            # a few compressed bytes at a time: zstd can expand 4 bytes into 128 kB, so a
            # whole chunk could become gigabytes; this bounds what one read holds
            data = self._input[self._at:self._at + _ZSTD_FEED]
            self._at += len(data)
            while data:
                if self._frame is None:
                    self._frame = self._context.decompressobj()
                try:
                    self._out += self._frame.decompress(data)
                except zstandard.ZstdError as err:  # a damaged frame: first hand over the frames before it
                    self._done, self._damage = True, err
                    break
                data = b""
                if self._frame.eof:  # the next frame starts in what is left
                    data, self._frame = self._frame.unused_data, None
        if not self._out and self._damage is not None:
            raise DamagedStream(f"a zstd frame is damaged: {self._damage}")
        if not self._out and self._cut:  # raised once the bytes before the cut are read
            raise zstandard.ZstdError("the last zstd frame ends early: the stream is cut")
        n = len(self._out) if size < 0 else min(size, len(self._out))
        out = bytes(self._out[:n])
        del self._out[:n]
        return out

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Rewindable(io.RawIOBase):
    """A stream that cannot seek (a pipe, a decompressor), made seekable over the
    bytes read since ``forget(offset)``: enough to go back to the last good WARC
    record and search on from it. At most ``keep`` bytes are kept (the oldest go
    first), so a huge record cannot fill the memory."""

    def __init__(self, source: BinaryIO | io.RawIOBase, keep: int = 64 << 20) -> None:
        self._source = source
        self._keep = max(keep, 4 * _RESYNC_CHUNK)
        self._buffer = bytearray()
        self._base = 0  # the offset of _buffer[0] in the stream
        self._pos = 0
        self._error: Exception | None = None  # from the source, raised once the bytes before it are read

    @property
    def earliest(self) -> int:
        """The smallest offset ``seek`` can go back to."""
        return self._base

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence != io.SEEK_SET or offset < self._base:
            raise io.UnsupportedOperation(f"cannot seek back to byte {offset}: kept from byte {self._base} on")
        self._pos = offset  # beyond what was read: the next read reads up to it
        return offset

    def forget(self, offset: int) -> None:
        """Let go of the bytes before ``offset``: ``seek`` will not go back there."""
        drop = min(offset, self._pos) - self._base
        if drop > 0:
            del self._buffer[:drop]  # cheap: bytearray drops its head without copying the rest
            self._base += drop

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all the rest with -1); fewer only at the end (a pipe
        may hand over less at a time)."""
        end = self._base + len(self._buffer)
        # read1 where the source is buffered: its read() fills the whole request, and
        # what it held when a cut or damage was met was lost (whole records before it)
        read = getattr(self._source, "read1", self._source.read)
        while self._error is None and (size < 0 or end < self._pos + size):
            try:
                data = read(max(size, _READ_CHUNK))
            except Exception as err:  # noqa: BLE001 - a cut stream: first hand over what came before
                self._error = err
                break
            if not data:
                break
            self._buffer += data
            end += len(data)
            if len(self._buffer) > self._keep:
                self.forget(end - self._keep)
        if self._pos >= end:
            if self._error is not None:
                raise self._error
            return b""
        i = self._pos - self._base
        out = bytes(self._buffer[i:] if size < 0 else self._buffer[i:i + size])
        self._pos += len(out)
        return out

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


#: Bytes read at a time from a stream that cannot seek.
_READ_CHUNK = 1 << 16
#: Compressed bytes given to the zstd decompressor at once: at most 128 x 32k = 4 MB out.
_ZSTD_FEED = 128
#: Bytes read at a time while looking for the next record after a broken one.
_RESYNC_CHUNK = 1 << 20


def _next_warc_record(stream: BinaryIO, start: int, *, gz: bool, anywhere: bool = False) -> int | None:
    """The offset of the first record start at or after ``start``: a ``WARC/1.`` line,
    or with ``gz`` a gzip member that begins with one (``.warc.gz``); ``None`` when
    there is none. With ``anywhere`` (a plain WARC whose record holds the start of
    the next one), a record start need not begin a line (``_NEXT_RECORD_INSIDE``):
    a record cut short runs straight into the next."""
    if anywhere and not gz:
        return _next_record_anywhere(stream, start)

    sig = b"\x1f\x8b\x08" if gz else b"\nWARC/1."
    back = len(sig)
    offset = max(start - (0 if gz else 1), 0)  # a plain record's line starts after a newline
    if isinstance(stream, _Rewindable):  # only what it still keeps (one record of up to 64 MB)
        offset = max(offset, stream.earliest)
    while True:
        stream.seek(offset)
        chunk = stream.read(_RESYNC_CHUNK + back)
        if not chunk:
            return None
        i = chunk.find(sig)
        while i >= 0:
            found = offset + i + (0 if gz else 1)
            if found >= start:
                if not gz:
                    return found
                stream.seek(found)
                try:
                    head = zlib.decompressobj(wbits=31).decompress(stream.read(4096), 16)
                except zlib.error:
                    head = b""
                if head.startswith(b"WARC/1."):
                    return found
                stream.seek(offset + len(chunk))
            i = chunk.find(sig, i + 1)
        if len(chunk) <= back:
            return None
        offset += len(chunk) - back


def _whole_record_inside(stream: BinaryIO, position: int) -> int | None:
    """The offset of the first record start after ``position`` found mid-line
    (``_next_record_anywhere``) when it is a whole record: its header parses, and its
    Content-Length ends where a record ends (a blank line, then the next record or
    the end); else None. The stream is left where it was (the WARC iterator reads on
    from it)."""
    here = stream.tell()
    try:
        start = _next_record_anywhere(stream, position + 1)
        if start is None:
            return None
        stream.seek(start)
        head = stream.read(65536)
        end_of_header = head.find(b"\r\n\r\n")
        found = _CONTENT_LENGTH.search(head, 0, max(end_of_header + 2, 0))
        if end_of_header < 0 or found is None:
            return None
        stream.seek(start + end_of_header + 4 + int(found.group(1)))
        tail = stream.read(16)
        return start if tail.startswith(b"\r\n\r\nWARC/1.") or not tail.strip() else None
    finally:
        stream.seek(here)


_CONTENT_LENGTH = re.compile(rb"\r\nContent-Length:[ \t]*(\d{1,15})[ \t]*\r\n", re.IGNORECASE)


def _merged_header(record: Any) -> bool:
    """Whether a record's header names two records (``WARC-Record-ID`` or
    ``WARC-Type`` twice, which WARC never repeats): a record cut in its header,
    followed by the next record's header lines."""
    names = [name.lower() for name, _ in record.headers.items()]
    return names.count("warc-record-id") > 1 or names.count("warc-type") > 1


def _next_record_anywhere(stream: BinaryIO, start: int) -> int | None:
    """``_next_warc_record`` for a plain WARC, where a record may start mid-line."""
    back = 8192  # a record's version line and header lines up to WARC-Type fit in it
    offset = start
    if isinstance(stream, _Rewindable):
        offset = max(offset, stream.earliest)
    while True:
        stream.seek(offset)
        chunk = stream.read(_RESYNC_CHUNK + back)
        found = _NEXT_RECORD_INSIDE.search(chunk)
        if found is not None:
            return offset + found.start()
        if len(chunk) <= back:
            return None
        offset += len(chunk) - back


def _record_type_name(kind: Any) -> str:
    text = str(kind)
    return text.rsplit(".", 1)[-1].lower() if text else "unknown"


def _warc_response(block: bytes, record: Any, source: str, position: int, rejects: RejectSink,
                   offset: int | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> Document | None:
    """The document of one WARC response record's block (HTTP headers + body); its
    rejects say which record (url, record id, byte ``offset``) and keep its first 64 KB."""
    where = _warc_where(record, offset)
    uri, record_id = where["url"], where["warc_record_id"]
    sink = _WarcRejects(rejects, where)
    if not block.startswith(b"HTTP/"):
        declared = (record.headers.get("Content-Type") or "").lower()
        if declared and "application/http" not in declared:  # a crawler's dns: record (text/dns), ...
            rejects.skip("not_http")
            return None
    # the header ends at the first blank line, CRLF or LF alone (a header written with LF
    # alone ended at a CRLF blank line of the body, cutting the page's top off)
    crlf, lf = block.find(b"\r\n\r\n"), block.find(b"\n\n")
    end, sep_len = (crlf, 4) if crlf >= 0 and (lf < 0 or crlf < lf) else (lf, 2)
    sep = end >= 0
    head, body = (block[:end], block[end + sep_len:]) if sep else (block, b"")
    if not sep or not head.startswith(b"HTTP/"):
        sink.add(Reject(source, position, "malformed", "WARC response without an HTTP header", block[:65536]))
        return None
    status_line, _, header_text = head.partition(b"\n")
    headers = {}
    for line in header_text.split(b"\n"):
        key, colon, value = line.partition(b":")
        if colon:
            headers[key.strip().lower()] = value.strip()
    content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
    if content_type and "html" not in content_type:
        rejects.skip("not_html")
        return None
    parts = status_line.split()
    if len(parts) < 2 or not parts[1].startswith(b"2"):
        rejects.skip("http_status_not_2xx")
        return None
    # a page cut short (a crawler's size or time limit: WARC-Truncated, as Common Crawl
    # marks bodies over 1 MiB; a chunked body without its last chunk) is still a page, but
    # its record says so (`truncated`): the article may lack its end
    truncated = (record.headers.get("WARC-Truncated") or "").strip() or None
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        body, whole = _dechunk(body)
        truncated = truncated or (None if whole else "chunked_body")
    # "gzip, identity" names one coding; "none" is a common way of saying none
    codings = [c.strip() for c in headers.get(b"content-encoding", b"").lower().split(b",")]
    codings = [c for c in codings if c not in (b"", b"identity", b"none")]
    encoding = codings[0] if len(codings) == 1 else b",".join(codings)
    if encoding in (b"gzip", b"x-gzip") and body[:2] != b"\x1f\x8b":
        # a crawler that stored the body decoded kept the header (wget, some archives): gzip
        # always begins with its magic bytes, a page need not begin with "<" (a BOM, UTF-16, text)
        encoding = b"identity"
    if encoding in (b"gzip", b"x-gzip", b"deflate"):
        try:
            if encoding == b"deflate":  # zlib-wrapped, or raw deflate as some servers send
                try:
                    inflated = _inflate(body, zlib.MAX_WBITS, max_bytes)
                except zlib.error:
                    try:
                        inflated = _inflate(body, -zlib.MAX_WBITS, max_bytes)
                    except zlib.error:
                        if not _markup_first(body):
                            raise
                        inflated = body  # stored decoded (deflate has no magic bytes to tell it by)
            else:
                inflated = _inflate(body, 16 + zlib.MAX_WBITS, max_bytes)
        except zlib.error as err:
            sink.add(Reject(source, position, "bad_encoding", f"HTTP body cannot be decompressed: {err}",
                            block[:65536]))
            return None
        if inflated is None:  # a body that inflates past the limit (a "zip bomb") is not inflated further
            sink.add(Reject(source, position, "too_large", f"the HTTP body inflates to more than {max_bytes} bytes "
                            f"(the limit; {RAISE_LIMIT})", block[:65536]))
            return None
        body = inflated
    elif encoding in (b"br", b"zstd") and not (encoding == b"zstd" and body[:4] != _ZSTD_MAGIC):
        # what browsers ask servers for today: the WARC of a browser-based crawler (Browsertrix,
        # ArchiveWeb.page) keeps the body as the server sent it
        try:
            inflated = _unzstd(body, max_bytes) if encoding == b"zstd" else _unbrotli(body, max_bytes)
        except ImportError:
            if not _markup_first(body):
                sink.add(Reject(source, position, "bad_encoding", "HTTP content encoding 'br' needs the brotli "
                                "package, 1.1 or later (pip install brotli)", block[:65536]))
                return None
            inflated = body
        except ValueError as err:
            if not (encoding == b"br" and _markup_first(body)):  # brotli has no magic bytes: stored decoded?
                sink.add(Reject(source, position, "bad_encoding", f"HTTP body cannot be decompressed: {err}",
                                block[:65536]))
                return None
            inflated = body
        if inflated is None:
            sink.add(Reject(source, position, "too_large", f"the HTTP body inflates to more than {max_bytes} bytes "
                            f"(the limit; {RAISE_LIMIT})", block[:65536]))
            return None
        body = inflated
    elif encoding and encoding != b"identity" and not (encoding == b"zstd" and _markup_first(body)):
        sink.add(Reject(source, position, "bad_encoding",
                        f"HTTP content encoding {encoding.decode('latin-1')!r} is not supported", block[:65536]))
        return None
    charset = _CHARSET.search(content_type)
    doc_id = (record_id or f"{Path(source).name}:{position}").strip("<>")
    return _with_record_fields(_page_document(body, source, position, doc_id, uri, sink,  # type: ignore[arg-type]
                                              charset.group(1) if charset else None), record, truncated)


def _with_record_fields(doc: Document | None, record: Any, truncated: str | None = None) -> Document | None:
    """``doc`` with what its WARC record says of it: ``date``, when the page was fetched
    (``WARC-Date``, as datatrove's WARC reader keeps it), and ``truncated``, why the crawler
    cut the page short, when it did."""
    if doc is None:
        return None
    date = (record.headers.get("WARC-Date") or "").strip()
    fields = {**({"date": date} if date else {}), **({"truncated": truncated} if truncated else {})}
    return replace(doc, extra={**doc.extra, **fields}) if fields else doc


def _warc_resource(block: bytes, record: Any, source: str, position: int, rejects: RejectSink,
                   offset: int | None = None) -> Document | None:
    """The document of one WARC resource record of an HTML page (``Content-Type`` naming
    HTML): the page's bytes with no HTTP header, as warcit stores a site's files, read as
    a response's body is; its charset is the one its ``Content-Type`` names."""
    where = _warc_where(record, offset)
    charset = _CHARSET.search((record.headers.get("Content-Type") or "").lower())
    doc_id = (where["warc_record_id"] or f"{Path(source).name}:{position}").strip("<>")
    doc = _page_document(block, source, position, doc_id, where["url"], _WarcRejects(rejects, where),  # type: ignore[arg-type]
                         charset.group(1) if charset else None)
    # cut short by the crawler, as a response's body can be
    return _with_record_fields(doc, record, (record.headers.get("WARC-Truncated") or "").strip() or None)


def _warc_conversion(block: bytes, record: Any, source: str, position: int, rejects: RejectSink,
                     offset: int | None = None) -> Document | None:
    """The document of one WARC conversion record: the text a crawler extracted from a
    page (Common Crawl's WET files: UTF-8, a line per paragraph of the page), read as a
    text file's is (``split_paragraphs``) and named by its record id, with the page's url."""
    where = _warc_where(record, offset)
    sink = _WarcRejects(rejects, where)
    declared = (record.headers.get("Content-Type") or "").lower()
    if declared and not declared.startswith("text/plain"):
        rejects.skip("not_text")
        return None
    named = _CHARSET.search(declared)
    encoding = "utf-8-sig"
    if named:
        try:
            encoding = codecs.lookup(named.group(1)).name
        except LookupError:
            sink.add(Reject(source, position, "bad_encoding", f"the record's Content-Type names the charset "
                            f"{named.group(1)!r}, which is no known encoding", block[:65536]))
            return None
        if encoding == "utf-8":
            encoding = "utf-8-sig"
    try:
        text = block.decode(encoding)
    except UnicodeDecodeError as err:
        shown = "UTF-8" if encoding.startswith("utf-8") else encoding
        sink.add(Reject(source, position, "bad_encoding", f"the record's text is not {shown} (its Content-Type's "
                        f"charset, else UTF-8): at byte {err.start} of its block, {err.reason}", block[:65536]))
        return None
    paragraphs = split_paragraphs(text)
    if not paragraphs:
        sink.add(Reject(source, position, "no_text", "the conversion record has no text"))
        return None
    if len(paragraphs) > MAX_BLOCKS:
        sink.add(Reject(source, position, "too_large", str(TooManyBlocks(MAX_BLOCKS)), block[:65536]))
        return None
    record_id = where["warc_record_id"]
    doc_id = (record_id or f"{Path(source).name}:{position}").strip("<>")
    return _with_record_fields(Document.from_texts(paragraphs, id=doc_id, url=where["url"] or None), record)


def _inflate(data: bytes, wbits: int, max_bytes: int) -> bytes | None:
    """``data`` decompressed, or None when it would be more than ``max_bytes``: never
    more than the limit is held (a 2 kB body can inflate to gigabytes). A gzip body of
    several members (as ``gzip -c a b`` writes) is all of them, as gzip reads it."""
    out = b""
    while True:
        d = zlib.decompressobj(wbits)
        out += d.decompress(data, max_bytes + 1 - len(out))
        if len(out) > max_bytes or d.unconsumed_tail:
            return None
        out += d.flush()
        if not d.eof:  # as zlib.decompress says it: a body cut short is no page
            raise zlib.error("incomplete or truncated stream")
        data = d.unused_data
        if wbits <= zlib.MAX_WBITS or data[:2] != b"\x1f\x8b":  # (bytes after the last member: left, as gzip does)
            return out


def _unzstd(data: bytes, max_bytes: int) -> bytes | None:
    """A zstd-encoded HTTP body decompressed (its frames, one after another: ``_ZstdFrames``,
    which says when the last is cut short), or None when it would be more than
    ``max_bytes``; ValueError when it is no zstd, damaged or cut short."""
    import zstandard

    frames = _ZstdFrames(io.BytesIO(data))
    try:
        out = frames.read(max_bytes + 1)
        if len(out) > max_bytes:
            return None
        frames.read(1)  # nothing more: raises when the last frame is cut short
    except (zstandard.ZstdError, DamagedStream) as err:
        raise ValueError(str(err)) from err
    return out


#: How much of a brotli body is fed to the decompressor at a time (each piece's output
#: is bounded by what is left of the limit).
_BROTLI_PIECE = 1 << 16


def _unbrotli(data: bytes, max_bytes: int) -> bytes | None:
    """A brotli-encoded (``br``) HTTP body decompressed, or None when it would be more
    than ``max_bytes``; ValueError when it is no brotli, or cut short; ImportError
    without the brotli package (no dependency of Sieve's)."""
    import brotli

    d = brotli.Decompressor()
    if not hasattr(d, "can_accept_more_data"):  # brotli < 1.1 cannot bound its output
        raise ImportError("brotli >= 1.1")
    out = bytearray()
    try:
        for start in range(0, max(len(data), 1), _BROTLI_PIECE):
            out += d.process(data[start:start + _BROTLI_PIECE], output_buffer_limit=max_bytes + 1 - len(out))
            while len(out) <= max_bytes and not d.can_accept_more_data():
                out += d.process(b"", output_buffer_limit=max_bytes + 1 - len(out))
            if len(out) > max_bytes:
                return None
        if not d.is_finished():
            raise ValueError("the brotli stream is cut short")
    except brotli.error as err:
        raise ValueError(str(err)) from err
    return bytes(out)


def _warc_where(record: Any, offset: int | None) -> dict[str, Any]:
    """Which WARC record: its target url, record id and byte offset (``Reject.warc``)."""
    return {"url": record.headers.get("WARC-Target-URI"), "warc_record_id": record.headers.get("WARC-Record-ID"),
            "offset": offset}


@dataclass(slots=True)
class _WarcRejects:
    """A reject sink that says which WARC record each reject came from."""

    sink: RejectSink
    where: dict[str, Any]

    def add(self, reject: Reject) -> None:
        self.sink.add(replace(reject, warc=self.where))


_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")


def _markup_first(body: bytes) -> bool:
    """Whether a body said to be compressed begins as a page does (``<`` after blanks and
    a byte-order mark, or UTF-16's mark): stored decoded under its ``Content-Encoding``
    header."""
    return body[:2] in _UTF16_BOMS or body[:1024].removeprefix(_UTF8_BOM).lstrip()[:1] == b"<"


def _dechunk(body: bytes) -> tuple[bytes, bool]:
    """An HTTP body with chunked transfer coding undone (a WARC may keep the chunks),
    and whether it was whole (its last, empty chunk there; a body cut short is a part
    of the page); the bytes as they are, whole, when they are not chunked after all (a
    crawler that stored the body decoded kept the header)."""
    out: list[bytes] = []
    pos = 0
    while pos < len(body):
        eol = body.find(b"\n", pos)  # CRLF by the standard; LF alone as some writers have it
        if eol < 0:
            if pos == 0:  # no line at all: a minified page, not chunks
                return body, True
            break
        size_field = body[pos:eol].split(b";", 1)[0].strip()
        # hex digits only: int() also takes "-ffff", "+1f" and "0x1f", and a negative
        # size sent the position back to read the same line for ever
        if not _HEX.fullmatch(size_field):
            return body, True  # not chunked after all: keep the bytes as they are
        size = int(size_field, 16)
        if size == 0:
            return b"".join(out), True
        out.append(body[eol + 1:eol + 1 + size])
        pos = eol + 1 + size
        pos += 2 if body.startswith(b"\r\n", pos) else 1 if body.startswith(b"\n", pos) else 0
    return b"".join(out), False
