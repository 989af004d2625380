"""Parquet input: the rows of a Parquet file as documents (a Hugging Face dataset's
shard: FineWeb, FineWeb-2, a crawl's export of a dataframe).

A row is a record as a JSON Lines object is (SCHEMA.md): ``blocks``, the text field
(``--text-field``) or ``html``, and the rest kept under ``metadata``. Rows are read row
group by row group, a few hundred at a time, so a shard of millions of rows is never
held whole. Where the position of a JSONL record is its line, a row's is its number in
the file (from 1).

What Parquet stores but JSON cannot say is written as JSON can: a timestamp, date or
time in ISO 8601 as Arrow writes it (nanoseconds, years past 9999), a duration in
seconds, a decimal as a string, a map as an object, NaN and infinities as null, bytes of
other fields as UTF-8 text (or base64 when they are no UTF-8). A null ``id``,
``blocks``, ``html`` or text field is taken as no such field (a table has every column in
every row): a row with a null text and a page in ``html`` is read from its page. A page
stored as bytes is decoded as a page file is (its declared encoding, else a guess); text
and blocks stored as bytes are UTF-8 or the row is a ``bad_encoding`` reject.

Bad files lose nothing silently: a file that is no Parquet, or ends before its footer
(a cut download), is one reject (``corrupt``, ``truncated``); a row that cannot be read
is one reject; a row group that cannot be decoded is one reject naming the rows it held,
and the next row group is read.

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
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .document import Document
from .errors import InputError
from .readers import (
    PARQUET_MAGIC,
    Reject,
    RejectSink,
    json_text_as,
    record_document,
    record_text_field,
    too_large_reject,
)

__all__ = ["first_rows", "parquet_module", "read_parquet"]

#: Rows turned into Python objects at a time: about ``BATCH_BYTES`` of a file's column
#: data (uncompressed, as its footer gives it), ``BATCH_ROWS`` rows when the footer does
#: not say, and never fewer than ``BATCH_MIN_ROWS`` or more than ``BATCH_MAX_ROWS``. 256
#: rows of the benchmark's documents (12 KB of column data each) took 15 MB more RSS to
#: read than 21 rows, in the same time; 200,000 rows of 80 characters read as fast 1,024
#: at a time as 256.
BATCH_BYTES = 256 << 10
BATCH_ROWS = 256
BATCH_MIN_ROWS = 16
BATCH_MAX_ROWS = 1024
#: Batches after which Arrow's memory pool gives back what it freed: iterating a 100 MB
#: file of one row group peaked at 141 MB of RSS without, 118 MB with (each batch: 114 MB,
#: a fifth slower), with Arrow's default allocator (the ``sieve`` command uses the C
#: library's: 99 MB either way).
RELEASE_BATCHES = 8
#: How a file is read: a page of a column (about 1 MB) at a time, not a row group's whole
#: columns at once (pyarrow's default: a 100 MB file of one row group took 229 MB of RSS
#: to read, 141 MB so).
_STREAMED = {"pre_buffer": False, "buffer_size": 1 << 20}
#: Fields whose null means the row has no such field (with the text field); Dolma's
#: top-level fields too, as Sieve's Parquet output has a column of each for every row.
_DOCUMENT_FIELDS = ("id", "blocks", "html", "added", "created")


def parquet_module() -> Any:
    """``pyarrow.parquet``, or an ``InputError`` saying how to install it."""
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        raise InputError("reading Parquet needs pyarrow: pip install 'sieve-corpus[parquet]' "
                         "(or pip install pyarrow)") from err
    return pq


def read_parquet(source: str | Path | BinaryIO, rejects: RejectSink, *, name: str | None = None,
                 text_field: str = "text", max_bytes: int, id_field: str = "id") -> Iterator[Document]:
    """Yield the documents of a Parquet file (a path, or a seekable binary file; ``name``
    is the source rejects name, by default the path). Rows of more than ``max_bytes``
    bytes of strings are rejected as ``too_large``. A row's id is its ``id_field``
    column (``Document.from_dict``); a row without it (or null there) is named by its
    file and row.

    Raises:
        InputError: pyarrow is not installed.
    """
    where = name or str(source)
    table = _open(source, where, rejects)
    if table is None:
        return
    try:
        yield from _rows(table, where, rejects, _Fields(text_field, id_field), max_bytes)
    finally:
        table.close(force=True)


def _open(source: str | Path | BinaryIO, where: str, rejects: RejectSink | None) -> Any:
    """The ``ParquetFile`` of ``source``, or None with its reject (when ``rejects``)."""
    pq = parquet_module()
    handle = None
    try:
        if isinstance(source, str | Path) and not _utf8_name(source):
            # Arrow takes a path as UTF-8 only: a name that is not (a byte of Latin-1) was "corrupt"
            source = handle = open(source, "rb")  # noqa: SIM115 - closed with the ParquetFile (force)
        return pq.ParquetFile(source, **_STREAMED)
    except _read_errors() as err:
        if handle is not None:
            handle.close()
        if rejects is None:
            pass
        elif _cut(source):
            rejects.add(Reject(where, 1, "truncated", f"the Parquet file ends before its footer (a cut copy?); "
                               f"no row can be found without it: {err}"))
        else:
            rejects.add(Reject(where, 1, "corrupt", f"not a readable Parquet file: {err}"))
        return None


def _utf8_name(path: str | Path) -> bool:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: bytes of a name that is not UTF-8
        return False
    return True


class _Fields:
    """The fields of a run's records that hold a document (``--text-field``'s names,
    ``blocks``, ``html``, ``id`` and ``--id-field``), worked out once a file."""

    def __init__(self, text_field: str, id_field: str = "id") -> None:
        self.text_field = text_field
        self.id_field = id_field
        self.texts = tuple(n.strip() for n in text_field.split(","))
        self.nullable = frozenset((*self.texts, *_DOCUMENT_FIELDS, id_field))
        self.bearing = (*self.texts, "blocks", "html")


def _read_errors() -> tuple[type[BaseException], ...]:
    import pyarrow as pa

    return (pa.ArrowException, OSError, ValueError, OverflowError, UnicodeDecodeError)


def _rows(table: Any, source: str, rejects: RejectSink, fields: _Fields, max_bytes: int) -> Iterator[Document]:
    import pyarrow as pa

    meta = table.metadata
    ends: list[int] = []  # each row group's last row
    for group in range(meta.num_row_groups):
        ends.append((ends[-1] if ends else 0) + meta.row_group(group).num_rows)
    pool = pa.default_memory_pool()
    batch_rows = _batch_rows(meta)
    errors = _read_errors()
    row = 0  # rows read so far, the position of the last one
    group = 0  # the first row group of this pass
    alone = False  # a pass of one row group: the one a pass over many met damage in
    while group < len(ends):
        groups = [group] if alone else range(group, len(ends))
        skip = row - (ends[group - 1] if group else 0)  # its rows read already (a batch spans row groups)
        try:
            for n, batch in enumerate(table.iter_batches(batch_size=batch_rows, row_groups=groups,
                                                         use_threads=False)):
                if n % RELEASE_BATCHES == 0:  # Arrow's allocator keeps what it freed, for a while
                    pool.release_unused()
                for record in _records(batch):
                    if skip > 0:
                        skip -= 1
                        continue
                    row += 1
                    doc = _row_document(record, source, row, rejects, fields, max_bytes)
                    if doc is not None:
                        yield doc
            group, alone = groups[-1] + 1, False
        except errors as err:
            damaged = next((g for g, end in enumerate(ends) if end > row), None)
            if damaged is None:  # every row read: the error came after them
                break
            if not alone:  # its rows before the damage: read that row group on its own
                group, alone = damaged, True
                continue
            lost = f"row {ends[damaged]}" if ends[damaged] == row + 1 else f"rows {row + 1}-{ends[damaged]}"
            rejects.add(Reject(source, row + 1, "corrupt", f"row group {damaged + 1} of {len(ends)} cannot be "
                               f"decoded ({type(err).__name__}: {err}): its {lost} are lost"))
            row = ends[damaged]
            group, alone = damaged + 1, False
    if ends and row < ends[-1]:  # decoded without an error, but short of what the footer says
        rejects.add(Reject(source, row + 1, "corrupt", f"the file's row groups hold {row} rows where its footer "
                           f"says {ends[-1]}: rows {row + 1}-{ends[-1]} are lost"))


def _batch_rows(meta: Any) -> int:
    """The rows of a batch of a file (``BATCH_BYTES``), by its footer's ``meta``."""
    rows = meta.num_rows
    size = sum(meta.row_group(group).total_byte_size for group in range(meta.num_row_groups))
    if rows <= 0 or size <= 0:
        return BATCH_ROWS
    return max(BATCH_MIN_ROWS, min(BATCH_MAX_ROWS, BATCH_BYTES * rows // size))


def _records(batch: Any) -> list[dict[str, Any] | BaseException]:
    """The rows of a record batch as Python dicts; a row that cannot be (a string that is
    no UTF-8, a date out of Python's range inside a struct) as the error it raised.
    Dates, times and timestamps are written by Arrow: Python's datetime holds no
    nanoseconds (pandas' default) and no year past 9999."""
    import pyarrow as pa

    errors = _read_errors()
    columns = []
    for column in batch.columns:
        try:
            columns.append(_temporal_as_text(column))
        except errors:  # left to Python, row by row below
            columns.append(column)
    if any(new is not old for new, old in zip(columns, batch.columns)):
        batch = pa.RecordBatch.from_arrays(columns, names=batch.schema.names)
    try:
        return batch.to_pylist(maps_as_pydicts="lossy")  # type: ignore[no-any-return]
    except errors:
        pass
    out: list[dict[str, Any] | BaseException] = []
    for i in range(batch.num_rows):  # the rows that can be, each on its own
        try:
            out.append(batch.slice(i, 1).to_pylist(maps_as_pydicts="lossy")[0])
        except errors as err:
            out.append(err)
    return out


#: Seconds in a unit of an Arrow duration.
_SECONDS = {"s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def _temporal_as_text(column: Any) -> Any:
    """A date, time or timestamp column as ISO 8601 text (a duration as seconds); any
    other column as it is. pyarrow.compute is imported for those only: about 7 MB of a
    worker that reads columns of text."""
    import pyarrow as pa

    kind = column.type
    if not pa.types.is_temporal(kind):
        return column
    import pyarrow.compute as pc

    if pa.types.is_timestamp(kind):
        if not kind.tz:
            return pc.strftime(column, format="%Y-%m-%dT%H:%M:%S")
        text = pc.strftime(column, format="%Y-%m-%dT%H:%M:%S%z")  # +0100: ISO 8601's extended form is +01:00
        return pc.replace_substring_regex(text, pattern=r"([+-]\d\d)(\d\d)$", replacement=r"\1:\2")
    if pa.types.is_date(kind) or pa.types.is_time(kind):
        return pc.cast(column, pa.string())
    if pa.types.is_duration(kind):
        return pc.multiply(pc.cast(pc.cast(column, pa.int64()), pa.float64()), _SECONDS[kind.unit])
    return column


def _row_document(record: dict[str, Any] | BaseException, source: str, row: int, rejects: RejectSink,
                  fields: _Fields, max_bytes: int) -> Document | None:
    if isinstance(record, BaseException):
        reason = "bad_encoding" if isinstance(record, UnicodeDecodeError) else "malformed"
        rejects.add(Reject(source, row, reason, f"the row cannot be read ({type(record).__name__}: {record})"))
        return None
    # a table has every column in every row: a null one of those that hold a document is
    # no field of this row (a null text beside a page in 'html': the page is read)
    doc = {key: value for key, value in record.items() if value is not None or key not in fields.nullable}
    name = record_text_field(doc, fields.text_field)
    try:  # the text a model reads is UTF-8 or no text: never base64
        for key in (name, "blocks"):
            if key in doc:
                doc[key] = _decoded(doc[key], drop_nulls=key == "blocks")
    except UnicodeDecodeError as err:
        rejects.add(Reject(source, row, "bad_encoding", f"field '{key}' is not UTF-8: {err.reason}",
                           _as_json({k: _jsonable(v) for k, v in record.items()})))
        return None
    if name not in doc and "blocks" not in doc and isinstance(doc.get("html"), bytes):
        from .html import decode_html  # lxml only when pages come in

        doc["html"] = decode_html(doc["html"])
    doc = {key: _jsonable(value) for key, value in doc.items()}
    if "blocks" in doc:  # Sieve's annotated Parquet output: its blocks as JSON text
        doc["blocks"] = json_text_as(doc["blocks"], list)
    # a character is at most four bytes: most rows are measured without encoding a string
    size = _text_bytes(doc, max_bytes) if 4 * _text_bytes(doc, max_bytes, chars=True) > max_bytes else 0
    if size > max_bytes:
        rejects.add(too_large_reject(source, row, size, max_bytes, _as_json(doc)))
        return None
    if not any(key in doc for key in fields.bearing):
        given = [key for key in fields.bearing if key in record]
        if given:
            rejects.add(Reject(source, row, "bad_schema", f"no text: {', '.join(given)} null in this row",
                               _as_json({k: _jsonable(v) for k, v in record.items()})))
            return None
    return record_document(doc, source, row, rejects, fields.text_field, lambda: _as_json(doc),
                           id_field=fields.id_field)


def _decoded(value: Any, drop_nulls: bool) -> Any:
    """A text field or ``blocks`` with its bytes decoded as UTF-8 (raising
    UnicodeDecodeError); in ``blocks``, the fields a block struct leaves null are no
    fields (a list of blocks with and without "label" is one struct type, "label" null
    in some: not gold for those)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, list):
        return [_decoded(item, drop_nulls) for item in value]
    if isinstance(value, dict):
        return {key: _decoded(item, drop_nulls) for key, item in value.items() if not drop_nulls or item is not None}
    return value


def _as_json(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


def _text_bytes(value: Any, limit: int, chars: bool = False) -> int:
    """The UTF-8 bytes (or with ``chars`` the characters) of the strings in ``value``:
    exact up to ``limit``, at least more than it above."""
    if isinstance(value, str):
        if chars or len(value) > limit or value.isascii():
            return len(value)
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, list):
        return 0
    total = 0
    for item in value:
        total += _text_bytes(item, limit, chars)
        if total > limit:
            break
    return total


def _jsonable(value: Any) -> Any:
    """A value of a Parquet row as JSON can hold it (the module's notes)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):  # a struct, or a map (keys that are no strings as JSON writes them)
        return {key if isinstance(key, str) else json.dumps(_jsonable(key)): _jsonable(item)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
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
def first_rows(path: Path, rows: int) -> list[dict[str, Any]]:
    """The first ``rows`` rows of a Parquet file as records (for the field check); none
    when the file cannot be read (the run's rejects say why).

    Raises:
        InputError: pyarrow is not installed.
    """
    table = _open(path, str(path), None)
    if table is None:
        return []
    try:
        for batch in table.iter_batches(batch_size=rows, use_threads=False):
            return [{key: _jsonable(value) for key, value in record.items()}
                    for record in _records(batch) if not isinstance(record, BaseException)]
        return []
    except _read_errors():
        return []
    finally:
        table.close(force=True)
