"""Writers: JSONL output (``.gz`` and ``.zst`` aware) written atomically, and the rejects file.

A file output is written to ``NAME.part`` and renamed when complete, so a reader
never sees half a file under the final name; ``-`` writes to standard output. A
path that exists and is no regular file (``/dev/null``, ``/dev/stdout``, a named
pipe) is written in place: renaming over it would replace the device or pipe with
a regular file.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import re
import stat
import sys
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .readers import KNOWN_SUFFIXES

__all__ = ["JsonlWriter", "ParquetWriter", "dumps_record", "is_special_file", "json_lossless",
           "other_compression", "output_writer", "rejects_path_for", "write_text_atomic"]


#: A lone surrogate: how Python keeps the bytes of a file name that is not UTF-8
#: (``os.fsdecode``); it has no UTF-8 form.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _encodable(text: str) -> str:
    """``text`` with every lone surrogate (from a file name that is not UTF-8, in an
    ``id`` or ``source``) as U+FFFD, as a decoder shows such bytes: writing it can
    neither fail nor put bytes that are not UTF-8 into the output."""
    return _SURROGATE.sub("\ufffd", text)


def json_lossless(data: Any, **options: Any) -> str:
    """``json.dumps(data, ensure_ascii=False, **options)`` with each lone surrogate (a file
    name's undecodable byte) written as its ``\\udcXX`` escape, which reads back as the
    same character: a report that names such a file names it exactly (as U+FFFD, it
    named a file that is not there, and the shard was never found finished)."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(data, ensure_ascii=False, **options))


def dumps_record(record: dict[str, Any]) -> str:
    """One JSONL line (without newline): UTF-8 text, no ASCII escaping, stable."""
    return _encodable(json.dumps(record, ensure_ascii=False, separators=(", ", ": ")))


def is_special_file(path: Path | str) -> bool:
    """Whether ``path`` exists and is no regular file or folder: a device (``/dev/null``,
    ``/dev/stdout``) or a named pipe, which is written in place, never replaced. So is a
    regular file reached through a link in ``/dev`` or ``/proc``: ``-o /dev/stdout >
    out.jsonl`` names the file the shell opened, and renaming over it replaced
    ``/dev/stdout`` (as root) with a new file while ``out.jsonl`` stayed empty (a file
    in ``/dev/shm`` is no link: it is written through ``.part`` as any other)."""
    if not os.path.exists(path) or os.path.isdir(path):
        return False
    if not os.path.isfile(path):
        return True
    absolute = os.path.abspath(path)
    return Path(absolute).parts[1:2] in (("dev",), ("proc",)) and os.path.realpath(absolute) != absolute


def _part_name(name: str, tag: str | None) -> str:
    """``NAME.part``, or ``NAME.TAG.part`` for a writer of a run that must not share its
    unfinished files with another (``sieve clean``'s run id: a shard still running on
    a Dask worker of a stopped run)."""
    return f"{name}.{tag}.part" if tag else f"{name}.part"


def write_text_atomic(path: Path, text: str, *, tag: str | None = None) -> Path:
    """Write ``text`` to ``path`` through ``PATH.part`` (``PATH.TAG.part`` with ``tag``;
    flushed to disk, then renamed): a reader never sees half a file, and a failed write
    leaves no ``.part`` behind; a name ending in ``.gz`` or ``.zst`` (any case) is
    written compressed, with the same bytes for the same text. A device or named pipe
    (``is_special_file``) is written in place. Missing parent folders are made."""
    if is_special_file(path):
        with open(path, "a", encoding="utf-8") as f:  # appended: `-o /dev/stdout >> log` keeps the log
            f.write(_encodable(text))
        return path
    target = _replaced(path)
    part = target.with_name(_part_name(target.name, tag))
    target.parent.mkdir(parents=True, exist_ok=True)  # as the JSONL outputs do
    try:
        with open(part, "wb") as f:
            layer = _compressor(str(path), f)
            data = _encodable(text).encode("utf-8")
            if layer is None:
                f.write(data)
            else:
                with layer:
                    layer.write(data)
            f.flush()
            os.fsync(f.fileno())
        _keep_mode(target, part)
        part.replace(target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return path


def _replaced(path: Path) -> Path:
    """The file an output at ``path`` replaces: the target of a symbolic link (renaming
    over the link would turn it into a file of its own and leave its target as it was)."""
    return Path(os.path.realpath(path)) if os.path.islink(path) else path


def _keep_mode(target: Path, part: Path) -> None:
    """Give ``part`` the permissions of the file it will replace (a private ``chmod
    600`` output stays private), when there is one."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return
    os.chmod(part, mode)


#: zstd level of ``.zst`` outputs: zstd's own default, about gzip's size at several times its speed.
ZSTD_LEVEL = 3


#: Suffixes of compressed files (in lower case) that a JSONL output cannot be written
#: as: only ``.gz`` and ``.zst`` are written compressed, and a file of these names would
#: hold plain JSON lines that no reader expecting the compression could read.
OTHER_COMPRESSION_SUFFIXES = (".bz2", ".bzip2", ".xz", ".lzma", ".lz", ".lz4", ".br", ".zip", ".7z", ".z", ".tgz",
                              ".tbz2", ".txz", ".gzip", ".zstd", ".sz", ".snappy", ".zlib", ".deflate")


#: Of those, the ones that are also the ends of host names (Brazil's ``.br``, Eswatini's
#: ``.sz``): ``-o uol.com.br`` names a file after a site, ``-o x.jsonl.br`` a compression.
_HOST_LIKE_SUFFIXES = (".br", ".sz")

#: The data suffixes that, before a host-like suffix, make it a compression's: those of
#: the files Sieve reads, and other names a data file goes by.
_DATA_SUFFIXES = (*KNOWN_SUFFIXES, ".jl", ".csv", ".tsv", ".out", ".log")


def other_compression(name: str) -> str | None:
    """The suffix of ``name`` (any case) that names a compression JSONL outputs are not
    written in (``OTHER_COMPRESSION_SUFFIXES``: ``.bz2``, ``.xz`` ...), or None. A
    suffix that also ends host names (``.br``) counts only after a data suffix
    (``x.jsonl.br``, not ``uol.com.br``)."""
    lower = os.path.basename(name.lower())
    suffix = next((s for s in OTHER_COMPRESSION_SUFFIXES if lower.endswith(s)), None)
    if suffix in _HOST_LIKE_SUFFIXES and not lower.removesuffix(suffix).endswith(_DATA_SUFFIXES):
        return None
    return suffix


def _compressor(name: str, raw: IO[bytes]) -> IO[bytes] | None:
    """The compressing layer a file named ``name`` is written through over ``raw``
    (``.gz``: gzip, ``.zst``: zstd, in any case: ``.GZ`` is gzip), or None for a plain
    file. Both write the same bytes for the same records: gzip with no time or name in
    its header, zstd in one thread with a checksum. Closing the layer ends the stream
    and leaves ``raw`` open."""
    name = name.lower()
    if name.endswith(".gz"):
        return gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0)  # type: ignore[return-value]
    if name.endswith(".zst"):
        import zstandard

        compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True, threads=0)
        return compressor.stream_writer(raw, closefd=False)  # type: ignore[return-value]
    return None


def rejects_path_for(output: Path) -> Path:
    """``out.jsonl`` -> ``out.jsonl.rejects.jsonl``: beside the output, named after it."""
    return output.with_name(output.name + ".rejects.jsonl")


class JsonlWriter:
    """Write records as JSON lines to a file (atomically) or to standard output.

    Use as a context manager: on a clean exit the file is renamed into place; on an
    exception the partial file is removed and nothing appears under the final name.
    With ``lazy=True`` the file is created only when the first record comes.
    """

    def __init__(self, path: Path | str, *, lazy: bool = False, tag: str | None = None) -> None:
        self.path = None if str(path) == "-" else Path(path)
        self._tag = tag  # the unfinished file is NAME.TAG.part (``_part_name``)
        self._in_place = self.path is not None and is_special_file(self.path)
        self._target = _replaced(self.path) if self.path is not None and not self._in_place else self.path
        self.count = 0
        self._lazy = lazy
        self._stream: IO[str] | None = None
        self._raw: IO[bytes] | None = None
        self._codec: IO[bytes] | None = None  # the compressing layer over _raw (.gz, .zst)

    @property
    def part(self) -> Path | None:
        """Where the records go until they are complete: ``NAME.part`` (``NAME.TAG.part``),
        or the path itself for a device or named pipe."""
        if self.path is None or self._in_place:
            return self.path
        assert self._target is not None
        return self._target.with_name(_part_name(self._target.name, self._tag))

    def _open(self) -> IO[str]:
        if self._stream is None:
            if self.path is None:
                self._stream = sys.stdout
            else:
                assert self.part is not None
                self.part.parent.mkdir(parents=True, exist_ok=True)
                # a file that was there (another run's, one this user may not write) is never removed
                # for an open() that failed; one made here, or held, is
                made_here = not self._in_place and not self.part.exists()
                try:
                    # a device or pipe is appended to: `-o /dev/stdout >> log` keeps the log
                    raw: IO[bytes] = open(self.part, "ab" if self._in_place else "wb")
                    self._raw = raw
                    self._codec, self._stream = self._layers(raw)
                except BaseException:
                    # a stop (SIGTERM, Ctrl-C) just after the file was made, before the writer
                    # held it: no __exit__ would remove it, and the .part stayed
                    held = self._raw is not None
                    if self._raw is not None:
                        self._raw.close()
                        self._raw = None
                    if not self._in_place and (held or made_here):
                        self.part.unlink(missing_ok=True)
                    raise
        return self._stream

    def _layers(self, raw: IO[bytes]) -> tuple[IO[bytes] | None, IO[str]]:
        """The compressing layer over ``raw`` (None for none) and the text stream written."""
        assert self.path is not None
        codec = _compressor(self.path.name, raw)
        return codec, io.TextIOWrapper(codec or raw, encoding="utf-8", newline="\n")

    def __enter__(self) -> JsonlWriter:
        if not self._lazy:
            try:
                self._open()
            except BaseException:  # (a stop between the file's making and `with`'s entry included)
                self.__exit__(*sys.exc_info())
                raise
        return self

    def write(self, record: dict[str, Any]) -> None:
        try:
            self._put(record)
        except OSError as err:
            self._named(err)
            raise
        self.count += 1

    def _put(self, record: dict[str, Any]) -> None:
        self._open().write(dumps_record(record) + "\n")

    def _named(self, err: OSError) -> None:
        """Make ``err`` name this writer's file ("-": standard output) when it names none:
        a write to a full disk or device says only "No space left on device"."""
        if err.filename is None and not isinstance(err, BrokenPipeError):
            err.filename = str(self.path) if self.path is not None else "-"

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._stream is None:
            return
        if self.path is None:
            try:
                self._stream.flush()
            except OSError as err:
                self._named(err)
                raise
            return
        assert self.part is not None
        try:  # the last buffered bytes go out at close: a full disk fails here
            try:
                if not self._in_place and exc_type is None and self._raw is not None:
                    self._stream.flush()
                    if self._codec is not None:
                        self._codec.close()  # writes the gzip trailer or zstd frame end into the raw file
                    self._raw.flush()
                    os.fsync(self._raw.fileno())  # on disk before the name says complete (a crash after
                    # the rename, before the data were written, left a finished shard empty)
                if exc_type is not None and hasattr(self._stream, "abort"):
                    self._stream.abort()  # a Parquet file is not finished for a failed shard
                self._stream.close()
            finally:
                if self._raw is not None and not self._raw.closed:
                    self._raw.close()
            if not self._in_place and exc_type is None:
                assert self._target is not None
                _keep_mode(self._target, self.part)
                self.part.replace(self._target)
        except BaseException as err:
            if not self._in_place:
                self.part.unlink(missing_ok=True)  # a partial file would keep the disk full
            if isinstance(err, OSError):
                self._named(err)
            raise
        if not self._in_place and exc_type is not None:
            self.part.unlink(missing_ok=True)


#: Rows of a Parquet output written as one row group, and the text (characters) after
#: which a row group is written sooner: what a writer holds at most.
PARQUET_GROUP_ROWS = 1000
PARQUET_GROUP_CHARS = 32 << 20
#: A cleaned record's top-level fields besides id, text, metadata and blocks: the shard's
#: name, or a Dolma record's own ``source``, with its ``added`` and ``created``.
PARQUET_TOP_LEVEL = ("source", "added", "created")
#: The columns of a cleaned record that Parquet outputs give a column of their own, from
#: its ``metadata``: what a corpus is filtered by, without reading JSON.
PARQUET_PROMOTED = (("url", "string"), ("publisher", "string"), ("lang", "string"), ("lang_score", "float64"),
                    ("script", "string"))


class _ParquetSink:
    """Cleaned records as rows of a Parquet file written to ``raw``: ``id``, ``text``,
    ``source``, the ``PARQUET_PROMOTED`` metadata, ``metadata`` (the whole object, JSON
    text: input fields differ from record to record, a column's type may not) and, for
    annotated records, ``blocks`` (JSON text). zstd-compressed columns; row groups by row
    count and size, never by time: the same records give the same bytes."""

    def __init__(self, raw: IO[bytes], annotated: bool) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        fields = [("id", pa.string()), ("text", pa.string()),
                  *((name, pa.string()) for name in PARQUET_TOP_LEVEL),
                  *((name, getattr(pa, kind)()) for name, kind in PARQUET_PROMOTED), ("metadata", pa.string())]
        if annotated:
            fields.append(("blocks", pa.string()))
        self._pa = pa
        self._schema = pa.schema(fields)
        self._writer = pq.ParquetWriter(raw, self._schema, compression="zstd")
        self._rows: dict[str, list[Any]] = {name: [] for name in self._schema.names}
        self._chars = 0
        self.closed = False

    def add(self, record: dict[str, Any]) -> None:
        meta = record.get("metadata") or {}
        meta_json = json.dumps(meta, ensure_ascii=False, separators=(", ", ": "))
        blocks_json = (json.dumps(record.get("blocks", []), ensure_ascii=False, separators=(", ", ": "))
                       if "blocks" in self._rows else "")
        row = {"id": _typed(record.get("id"), "string"), "text": record.get("text"),
               **{name: _typed(record.get(name), "string") for name in PARQUET_TOP_LEVEL},
               **{name: _typed(meta.get(name), kind) for name, kind in PARQUET_PROMOTED},
               "metadata": meta_json, "blocks": blocks_json}
        for name, column in self._rows.items():
            value = row[name]
            column.append(_encodable(value) if isinstance(value, str) else value)
        self._chars += len(record.get("text") or "") + len(meta_json) + len(blocks_json)
        if len(self._rows["id"]) >= PARQUET_GROUP_ROWS or self._chars >= PARQUET_GROUP_CHARS:
            self._write_group()

    def _write_group(self) -> None:
        if self._rows["id"]:
            self._writer.write_table(self._pa.Table.from_pydict(self._rows, schema=self._schema))
        self._rows = {name: [] for name in self._schema.names}
        self._chars = 0

    def flush(self) -> None:  # a row group is written whole, at add() or close()
        pass

    def close(self) -> None:
        """The last row group and the footer (written once)."""
        if not self.closed:
            self.closed = True
            try:
                self._write_group()
                self._writer.close()
            except BaseException:
                self._discard()
                raise

    def abort(self) -> None:
        """Give up the file (a failed shard, a full disk): nothing more is written to it,
        and the error that stopped it is the one told."""
        if not self.closed:
            self.closed = True
            self._discard()

    def _discard(self) -> None:
        self._rows = {name: [] for name in self._schema.names}
        with contextlib.suppress(Exception):
            self._writer.close()
        self._writer.is_open = False  # else its __del__ writes to the closed file again, and says so


def _typed(value: Any, kind: str) -> Any:
    """``value`` as its column's type: an id, source or url the input gave as a number is
    its JSON text, a score that is no number null (the metadata column keeps it as it was)."""
    if value is None:
        return None
    if kind == "float64":
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class ParquetWriter(JsonlWriter):
    """``JsonlWriter``'s atomic file output, as a Parquet file (``_ParquetSink``) instead
    of JSON lines; with ``annotated``, each row keeps the record's blocks. A Parquet file
    is written to a file only: it ends with its index."""

    def __init__(self, path: Path | str, *, lazy: bool = False, tag: str | None = None,
                 annotated: bool = False) -> None:
        if str(path) == "-":
            raise ValueError("a Parquet output is a file: it cannot be written to standard output")
        super().__init__(path, lazy=lazy, tag=tag)
        self._annotated = annotated

    def _layers(self, raw: IO[bytes]) -> tuple[IO[bytes] | None, IO[str]]:
        sink = _ParquetSink(raw, self._annotated)
        return sink, sink  # type: ignore[return-value]  # closed as a codec is: its footer, then the rename

    def _put(self, record: dict[str, Any]) -> None:
        self._open().add(record)  # type: ignore[attr-defined]


def output_writer(path: Path | str, *, lazy: bool = False, tag: str | None = None,
                  annotated: bool = False) -> JsonlWriter:
    """The writer of an output file, by its name: Parquet for ``.parquet``, else JSON
    lines (``.gz`` and ``.zst`` compressed)."""
    if str(path).endswith(".parquet"):
        return ParquetWriter(path, lazy=lazy, tag=tag, annotated=annotated)
    return JsonlWriter(path, lazy=lazy, tag=tag)
