"""Readers: input files -> ``Document``s, lazily; unusable records become ``Reject``s.

Every record a reader sees ends as a yielded document or as exactly one ``Reject``
with a stable reason code, so callers can check ``read == written + rejected``.

Reason codes: ``bad_json``, ``bad_schema``, ``bad_encoding``, ``binary``,
``no_text`` (an empty document), ``too_large``, ``truncated`` (a compressed
stream that ends early; the records before it are kept), ``unreadable``.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import logging
import re
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .document import Document, split_paragraphs
from .errors import InputError, SchemaError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "Reject",
    "RejectSink",
    "document_id_for",
    "read_any",
    "read_jsonl",
    "read_text",
]

logger = logging.getLogger(__name__)

#: Records (JSONL lines, text files) larger than this are rejected as ``too_large``:
#: a 50 MB "paragraph" is a broken scrape, and labelling it would stall a worker.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024

STDIN = "-"
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")


@dataclass(frozen=True, slots=True)
class Reject:
    """A record that could not be used: where it was, why, and the record itself."""

    source: str
    position: int  # 1-based line number (JSONL) or 1 for a whole-file document
    reason: str
    detail: str = ""
    raw: bytes | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source": self.source,
            "position": self.position,
            "reason": self.reason,
            "detail": self.detail,
        }
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
    """Collects rejects: counts them by reason and hands each to ``on_reject``."""

    on_reject: Callable[[Reject], None] | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, reject: Reject) -> None:
        self.counts[reject.reason] = self.counts.get(reject.reason, 0) + 1
        logger.debug("rejected %s", reject)
        if self.on_reject is not None:
            self.on_reject(reject)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def document_id_for(path: str | Path) -> str:
    """The id of a one-document file: its name without extensions (``story.txt.gz`` -> ``story``)."""
    name = Path(path).name
    return name.split(".", 1)[0] or name


def _open_binary(path: str | Path) -> BinaryIO:
    if str(path) == STDIN:
        return sys.stdin.buffer
    raw: BinaryIO = open(path, "rb")
    if str(path).endswith(".gz"):
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def _is_jsonl(path: str | Path) -> bool:
    name = str(path).lower().removesuffix(".gz")
    return name.endswith(_JSONL_SUFFIXES)


def read_any(
    path: str | Path,
    rejects: RejectSink,
    *,
    input_format: str = "auto",
    text_field: str = "text",
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Iterator[Document]:
    """Yield the documents of one input: a JSONL file, a text file, or ``-`` (stdin).

    Args:
        input_format: ``"jsonl"``, ``"text"`` or ``"auto"`` (by file extension;
            for stdin, JSONL when the first non-blank byte is ``{``).
        text_field: the record field holding text when a record has no ``blocks``.
        max_bytes: records larger than this are rejected as ``too_large``.

    Raises:
        InputError: the input cannot be opened at all (missing, a folder, no permission).
    """
    if input_format not in ("auto", "jsonl", "text"):
        raise InputError(f"unknown input format {input_format!r}; use auto, jsonl or text")
    if str(path) == STDIN:
        stream = sys.stdin.buffer
        if input_format == "auto":
            if not hasattr(stream, "peek"):  # e.g. a BytesIO: buffer it so the head can be seen
                stream = io.BufferedReader(stream)  # type: ignore[arg-type]
            head = stream.peek(4096)
            input_format = "jsonl" if head.lstrip()[:1] == b"{" else "text"
        if input_format == "jsonl":
            yield from _read_jsonl_stream(stream, STDIN, rejects, text_field, max_bytes)
        else:
            yield from _read_text_stream(stream, STDIN, "stdin", rejects, max_bytes)
        return
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if input_format == "jsonl" or (input_format == "auto" and _is_jsonl(path)):
        yield from read_jsonl(path, rejects, text_field=text_field, max_bytes=max_bytes)
    else:
        yield from read_text(path, rejects, max_bytes=max_bytes)


def read_jsonl(
    path: Path, rejects: RejectSink, *, text_field: str = "text", max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[Document]:
    """Yield the documents of a ``.jsonl`` or ``.jsonl.gz`` file; bad lines go to ``rejects``."""
    try:
        stream = _open_binary(path)
    except OSError as err:
        raise InputError(f"{path}: cannot open ({err.strerror or err})") from err
    with stream:
        yield from _read_jsonl_stream(stream, str(path), rejects, text_field, max_bytes)


def _read_jsonl_stream(
    stream: BinaryIO, source: str, rejects: RejectSink, text_field: str, max_bytes: int
) -> Iterator[Document]:
    line_no = 0
    lines = iter(stream)
    while True:
        try:
            raw = next(lines)
        except StopIteration:
            return
        except (EOFError, gzip.BadGzipFile, zlib.error) as err:
            rejects.add(Reject(source, line_no + 1, "truncated", f"compressed stream ends early: {err}"))
            return
        except OSError as err:
            rejects.add(Reject(source, line_no + 1, "unreadable", str(err)))
            return
        line_no += 1
        if not raw.strip():
            continue
        doc = _parse_line(raw, source, line_no, rejects, text_field, max_bytes)
        if doc is not None:
            yield doc


def _parse_line(
    raw: bytes, source: str, line_no: int, rejects: RejectSink, text_field: str, max_bytes: int
) -> Document | None:
    if len(raw) > max_bytes:
        rejects.add(Reject(source, line_no, "too_large", f"{len(raw)} bytes > limit {max_bytes}", raw))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        reason = "binary" if b"\x00" in raw else "bad_encoding"
        rejects.add(Reject(source, line_no, reason, f"not UTF-8: {err.reason} at byte {err.start}", raw))
        return None
    try:
        record = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
        rejects.add(Reject(source, line_no, "bad_json", f"not valid JSON: {err}", raw))
        return None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(record):
        rejects.add(Reject(source, line_no, "bad_encoding",
                           "a \\uXXXX escape gives a lone surrogate: not representable in UTF-8", raw))
        return None
    try:
        doc = Document.from_dict(record, default_id=f"{Path(source).name}:{line_no}", text_field=text_field)
    except SchemaError as err:
        rejects.add(Reject(source, line_no, "bad_schema", str(err), raw))
        return None
    if not any(b.text.strip() for b in doc.blocks):
        rejects.add(Reject(source, line_no, "no_text", "the document has no text", raw))
        return None
    return doc


#: Only a ``\uD800``-``\uDFFF`` escape can put a surrogate into parsed JSON (UTF-8
#: bytes cannot encode one), so only records with such an escape are walked.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_constant(name: str) -> Any:
    """``NaN``/``Infinity`` are not JSON (RFC 8259); echoing them would write invalid output."""
    raise ValueError(f"{name} is not a JSON value")


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


def read_text(path: Path, rejects: RejectSink, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Document]:
    """Yield the one document of a plain text file (``.gz`` allowed), or reject it.

    Blocks are paragraphs: split on blank lines when the file has any, else one
    block per non-empty line. The document id is the file name without extensions.
    """
    try:
        size = path.stat().st_size
        if not str(path).endswith(".gz") and size > max_bytes:
            rejects.add(Reject(str(path), 1, "too_large", f"{size} bytes > limit {max_bytes}"))
            return
        stream = _open_binary(path)
    except OSError as err:
        raise InputError(f"{path}: cannot open ({err.strerror or err})") from err
    with stream:
        yield from _read_text_stream(stream, str(path), document_id_for(path), rejects, max_bytes)


def _read_text_stream(
    stream: BinaryIO, source: str, doc_id: str, rejects: RejectSink, max_bytes: int
) -> Iterator[Document]:
    try:
        data = stream.read(max_bytes + 1)
        too_large = len(data) > max_bytes
        if too_large:  # count the rest without holding it
            size = len(data) + sum(len(chunk) for chunk in iter(lambda: stream.read(1 << 20), b""))
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        rejects.add(Reject(source, 1, "truncated", f"compressed stream ends early: {err}"))
        return
    except OSError as err:
        rejects.add(Reject(source, 1, "unreadable", str(err)))
        return
    if too_large:
        rejects.add(Reject(source, 1, "too_large", f"{size} bytes > limit {max_bytes}"))
        return
    if b"\x00" in data:
        rejects.add(Reject(source, 1, "binary", "the file holds NUL bytes: not text", data))
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        rejects.add(Reject(source, 1, "bad_encoding", f"not UTF-8: {err.reason} at byte {err.start}", data))
        return
    paragraphs = split_paragraphs(text)
    if not paragraphs:
        rejects.add(Reject(source, 1, "no_text", "the file has no text"))
        return
    yield Document.from_texts(paragraphs, id=doc_id)


