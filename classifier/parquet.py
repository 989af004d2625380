"""Parquet input: the rows of a Parquet file as documents (a Hugging Face dataset's
shard: FineWeb, FineWeb-2, a crawl's export of a dataframe).

A row is a record as a JSON Lines object is (SCHEMA.md): ``blocks``, the text field
(``--text-field``) or ``html``, and the rest kept under ``metadata``. Rows are read row
group by row group, a few hundred at a time, so a shard of millions of rows is never
held whole. Where the position of a JSONL record is its line, a row's is its number in
the file (from 1).

What Parquet stores but JSON cannot say is written as JSON can: a timestamp or date in
ISO 8601, a decimal as a string, bytes as UTF-8 text (or base64 when they are no UTF-8),
a map as an object, NaN and infinities as null. A null ``id``, ``blocks``, ``html`` or
text field is taken as no such field (a table has every column in every row): a row with
a null text and a page in ``html`` is read from its page. A page stored as bytes is
decoded as a page file is (its declared encoding, else a guess).

Bad files lose nothing silently: a file that is no Parquet, or ends before its footer
(a cut download), is one reject (``corrupt``, ``truncated``); a row group that cannot be
decoded is one reject naming the rows it held, and the next row group is read.

pyarrow is an optional dependency (``pip install 'sieve-corpus[parquet]'``), imported
when a Parquet input is read.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import json
import math
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .document import Document
from .errors import InputError
from .readers import PARQUET_MAGIC, Reject, RejectSink, record_document, record_text_field

__all__ = ["first_rows", "parquet_module", "read_parquet", "spooled"]

#: Rows turned into Python objects at a time.
BATCH_ROWS = 256
#: How a file is read: a page of a column (about 1 MB) at a time, not a row group's whole
#: columns at once (pyarrow's default: a 100 MB file of one row group took 229 MB of RSS
#: to read, 141 MB so).
_STREAMED = {"pre_buffer": False, "buffer_size": 1 << 20}
#: Fields whose null means the row has no such field (with the text field).
_DOCUMENT_FIELDS = ("id", "blocks", "html")


def parquet_module() -> Any:
    """``pyarrow.parquet``, or an ``InputError`` saying how to install it."""
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        raise InputError("reading Parquet needs pyarrow: pip install 'sieve-corpus[parquet]' "
                         "(or pip install pyarrow)") from err
    return pq


def read_parquet(source: str | Path | BinaryIO, rejects: RejectSink, *, name: str | None = None,
                 text_field: str = "text", max_bytes: int) -> Iterator[Document]:
    """Yield the documents of a Parquet file (a path, or a seekable binary file; ``name``
    is the source rejects name, by default the path). Rows of more than ``max_bytes``
    bytes of text are rejected as ``too_large``.

    Raises:
        InputError: pyarrow is not installed.
    """
    pq = parquet_module()
    import pyarrow as pa

    where = name or str(source)
    try:
        table = pq.ParquetFile(source, **_STREAMED)
    except (pa.ArrowException, OSError, ValueError) as err:
        if _cut(source):
            rejects.add(Reject(where, 1, "truncated", f"the Parquet file ends before its footer (a cut copy?); "
                               f"no row can be found without it: {err}"))
        else:
            rejects.add(Reject(where, 1, "corrupt", f"not a readable Parquet file: {err}"))
        return
    try:
        yield from _rows(table, where, rejects, text_field, max_bytes, pa.ArrowException)
    finally:
        table.close()


def _rows(table: Any, source: str, rejects: RejectSink, text_field: str, max_bytes: int,
          arrow_error: type[Exception]) -> Iterator[Document]:
    groups = table.metadata.num_row_groups
    row = 0  # rows read so far, the position of the last one
    for group in range(groups):
        end = row + table.metadata.row_group(group).num_rows
        try:
            for batch in table.iter_batches(batch_size=BATCH_ROWS, row_groups=[group], use_threads=False):
                for record in batch.to_pylist():
                    row += 1
                    doc = _row_document(record, source, row, rejects, text_field, max_bytes)
                    if doc is not None:
                        yield doc
        except (arrow_error, OSError, ValueError, UnicodeDecodeError) as err:
            if row < end:
                lost = f"row {end}" if end == row + 1 else f"rows {row + 1}-{end}"
                rejects.add(Reject(source, row + 1, "corrupt", f"row group {group + 1} of {groups} cannot be "
                                   f"decoded ({type(err).__name__}: {err}): its {lost} are lost"))
            row = end


def _row_document(record: dict[str, Any], source: str, row: int, rejects: RejectSink, text_field: str,
                  max_bytes: int) -> Document | None:
    name = record_text_field(record, text_field)
    if isinstance(record.get(name), bytes):
        try:
            record[name] = record[name].decode("utf-8")
        except UnicodeDecodeError as err:
            rejects.add(Reject(source, row, "bad_encoding", f"field '{name}' is not UTF-8: {err.reason} at byte "
                               f"{err.start}", record[name]))
            return None
    if name not in record and "blocks" not in record and isinstance(record.get("html"), bytes):
        from .html import decode_html  # lxml only when pages come in

        record["html"] = decode_html(record["html"])
    record = {key: _jsonable(value) for key, value in record.items()}
    size = _text_bytes(record, max_bytes)
    if size > max_bytes:
        rejects.add(Reject(source, row, "too_large", f"{size} bytes of text > limit {max_bytes} (the reject keeps "
                           f"its first {max_bytes} bytes)", _as_json(record)[:max_bytes]))
        return None
    # a table has every column in every row: a null one is no field of this row
    fields = {key: value for key, value in record.items()
              if value is not None or key not in (*_DOCUMENT_FIELDS, *text_field.split(","))}
    if not any(key in fields for key in ("blocks", "html", *text_field.split(","))):
        given = [key for key in ("blocks", *text_field.split(","), "html") if key in record]
        if given:
            rejects.add(Reject(source, row, "bad_schema", f"no text: {', '.join(given)} null in this row",
                               _as_json(record)))
            return None
    return record_document(fields, source, row, rejects, text_field, lambda: _as_json(record))


def _as_json(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


def _text_bytes(value: Any, limit: int) -> int:
    """The UTF-8 bytes of the strings in ``value``: exact up to ``limit``, at least more
    than it above (a character is one to four bytes: most strings are not encoded)."""
    if isinstance(value, str):
        return len(value) if len(value) > limit or value.isascii() else len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, list):
        return 0
    total = 0
    for item in value:
        total += _text_bytes(item, limit)
        if total > limit:
            break
    return total


def _jsonable(value: Any) -> Any:
    """A value of a Parquet row as JSON can hold it (the module's notes)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        # a struct: its fields a row leaves null are no fields (a list of block objects
        # with and without "label" is one struct type with "label" null in some)
        return {key: _jsonable(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        if value and all(isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) for item in value):
            return {key: _jsonable(item) for key, item in value}  # a map
        return [_jsonable(item) for item in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    return str(value)


def _cut(source: str | Path | BinaryIO) -> bool:
    """Whether a Parquet file that cannot be opened begins as one and lacks its end."""
    try:
        with open(source, "rb") if isinstance(source, (str, Path)) else contextlib.nullcontext(source) as f:
            f.seek(0)
            head = f.read(4)
            f.seek(0, 2)
            if f.tell() >= 8:
                f.seek(-4, 2)
            return head == PARQUET_MAGIC and f.read(4) != PARQUET_MAGIC
    except OSError:
        return False  # the error the reader gave says why
def spooled(stream: BinaryIO) -> BinaryIO:
    """A seekable copy of a stream read once (standard input, a pipe): Parquet's index is
    at its end. On disk, not in memory: a shard is hundreds of MB."""
    copy = tempfile.TemporaryFile()  # the caller closes it
    shutil.copyfileobj(stream, copy, 1 << 20)
    copy.seek(0)
    return copy  # type: ignore[return-value]


def first_rows(path: Path, rows: int) -> list[dict[str, Any]]:
    """The first ``rows`` rows of a Parquet file as records (for the field check); none
    when the file cannot be read (the run's rejects say why)."""
    pq = parquet_module()
    import pyarrow as pa

    try:
        table = pq.ParquetFile(path, **_STREAMED)
    except (pa.ArrowException, OSError, ValueError):
        return []
    try:
        for batch in table.iter_batches(batch_size=rows, use_threads=False):
            return [{key: value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                     for key, value in record.items()} for record in batch.to_pylist()]
        return []
    except (pa.ArrowException, OSError, ValueError, UnicodeDecodeError):
        return []
    finally:
        table.close()
