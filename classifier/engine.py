"""Run ``clean_shard`` over many input shards: in this process, in worker processes,
or on a Dask cluster; resumably.

Every input file is a shard; a folder expands to its files, recursively, in sorted
order. A shard's outputs go to ``OUTPUT_DIR/REL/NAME.*`` (``REL``: its folder
relative to the input folder given; ``NAME``: its file name without extensions),
so names never collide. A shard whose report (``NAME.report.json``, written last)
exists is finished: a rerun skips it (``overwrite`` redoes it), so a run killed
half way resumes where it stopped and ends with the same files as one that was
not. The report records the options that shaped the shard (``options``); a rerun
with other options refuses, before any work, to reuse a finished shard. A shard
that is redone deletes its own outputs of an earlier run that it does not write
again (a language gone from its input, ``NAME.jsonl.gz`` after
``--split-by-language``, the other compression), never another shard's. Outputs
depend only on each shard's input, the model and the policy, never on the number
of workers or the engine.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import IO, Any

from .clean import (
    DROPPED_SUFFIX,
    RUN_FILE,
    UNFINISHED,
    CleanPolicy,
    ShardTask,
    Superseded,
    WorkerMismatch,
    clean_shard,
    current_options,
    earlier_output_owners,
    expected_on_worker,
    input_stamp,
    merge_reports,
    shard_report_path,
    write_run_report,
)
from .document import normalize_lang
from .errors import ClassifierError, InputError
from .options import option_differences
from .readers import shard_name_for
from .writers import write_text_atomic

__all__ = ["FileFilter", "PlanError", "RunResult", "describe_failure", "discover_shards", "run_clean"]


class PlanError(InputError):
    """Inputs and an output folder that make no run, whatever is in the files: two shards
    that would write one file, an output over an input, the output folder given as an
    input. Found from the names alone, before any work: the command line's fault, which
    `sieve clean` tells as a usage error (exit 2)."""

logger = logging.getLogger(__name__)

REPORT_NAME = "_report.json"
#: Seconds to wait for a Dask scheduler (--scheduler) to answer before giving up.
DASK_CONNECT_TIMEOUT = 10
#: Files never taken as input shards when a folder is expanded.
_IGNORED_SUFFIXES = (".part", ".report.json", ".rejects.jsonl", DROPPED_SUFFIX, ".crc")


def _stem(name: str) -> str:
    """``crawl-00.jsonl.gz`` -> ``crawl-00``; ``page.html`` -> ``page``; ``part.0.jsonl`` -> ``part.0``."""
    return shard_name_for(name)


@dataclass(frozen=True)
class FileFilter:
    """Which files of an input folder are inputs (``--include`` / ``--exclude``): glob
    patterns matched against a file's path under the folder (``sub/x.warc.gz``; ``*``
    crosses ``/``; a leading ``**/`` or ``./`` matches files at the top too, as in a
    shell's globs) or its name, case-sensitively. A file given by name is always read."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def wants(self, rel: str) -> bool:
        import fnmatch

        name = rel.rsplit("/", 1)[-1]

        def hit(patterns: tuple[str, ...]) -> bool:
            for pattern in patterns:
                pattern = pattern.replace("\\", "/").removeprefix("./")
                if (fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(name, pattern)
                        or (pattern.startswith("**/") and fnmatch.fnmatchcase(rel, pattern[3:]))):
                    return True
            return False

        return (not self.include or hit(self.include)) and not hit(self.exclude)

    def describe(self) -> str:
        """The options, as given: ``--include '*.warc.gz' --exclude 'stats/*'``."""
        return " ".join([*(f"--include '{p}'" for p in self.include), *(f"--exclude '{p}'" for p in self.exclude)])

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)


def _folder_files(folder: Path, skip: Path | None = None, select: FileFilter | None = None,
                  quiet: Sequence[Path] = (), warn: bool = True) -> list[Path]:
    """The input files under ``folder``, recursively, sorted: hidden files and folders,
    those whose names begin with ``_`` (Spark's and Hadoop's ``_SUCCESS``,
    ``_temporary/``, as their readers skip them), Sieve's own rejects and reports and
    unfinished ``.part`` files left out, and the sub-folders an earlier ``sieve clean``
    wrote into (they hold its lock file; anything under ``skip`` too; those under ``skip``
    and ``quiet``, a command's own outputs, without a warning, and every one without it
    when not ``warn``: a second look at the inputs of a run that warns once). Linked
    folders are followed, each real folder once (a link to a folder above it is no loop)."""
    def inputs_only(dirs: list[str], top: str | Path = folder) -> list[str]:
        kept = []
        for d in sorted(dirs):
            if d.startswith((".", "_")):  # .git/, .cache/, _temporary/
                continue
            if os.path.exists(os.path.join(top, d, LOCK_NAME)) and os.path.realpath(os.path.join(top, d)) not in mine:
                # an earlier `sieve clean -o` into a folder of the inputs: read back as input,
                # every document would be cleaned again beside itself
                if warn and os.path.realpath(os.path.join(top, d)) not in told:
                    told.add(os.path.realpath(os.path.join(top, d)))
                    logger.warning("%s holds the output of an earlier `sieve clean` (%s): not read as input; "
                                   "give it on its own to read it", os.path.join(top, d), LOCK_NAME)
                continue
            kept.append(d)
        return kept

    told: set[str] = set()
    # this run's own output folder: said elsewhere (and a command's own outputs: ``quiet``)
    mine = {os.path.realpath(f) for f in ([skip] if skip is not None else []) + list(quiet)}

    # the folders under it as themselves first: a link to one of them is not followed, so a
    # file is read under its own path whatever the order the file system lists them in
    own: set[str] = set()
    for top, dirs, _ in os.walk(folder):
        dirs[:] = inputs_only(dirs, top)
        own.add(os.path.realpath(top))

    def unlisted(err: OSError) -> None:  # os.walk passes over a folder it cannot list, without a word
        if os.path.basename(str(err.filename)) == "lost+found":  # fsck's, readable by root only: no input
            return
        raise InputError(f"cannot list the input folder {err.filename} ({err.strerror or err}): its files would "
                         "be left out; make it readable, or give the folders beside it as inputs")

    found: list[Path] = []
    others: list[Path] = []  # entries that are no regular file: said, not read
    seen: set[str] = set()
    for top, dirs, files in os.walk(folder, onerror=unlisted, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:  # a second link to a folder already walked, or a loop
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in inputs_only(dirs, top)
                   if not (os.path.islink(os.path.join(top, d)) and os.path.realpath(os.path.join(top, d)) in own)]
        here = Path(top)
        for name in files:
            p = here / name
            if (not name.startswith((".", "_")) and not name.endswith(_IGNORED_SUFFIXES)
                    # realpath: a loop of links is a name like a broken link (resolve() raised)
                    and not (skip is not None and skip in Path(os.path.realpath(p)).parents)
                    and (select is None or select.wants(p.relative_to(folder).as_posix()))):
                if p.is_file():
                    found.append(p)
                else:  # a broken link (git-annex, DVC: not fetched yet), a named pipe, a device
                    others.append(p)
    if others and warn:
        shown = ", ".join(str(p) for p in sorted(others)[:3]) + (", ..." if len(others) > 3 else "")
        logger.warning("%d entr%s under %s %s no regular file (a broken link, a pipe, a device): not read (%s)",
                       len(others), "y" if len(others) == 1 else "ies", folder, "is" if len(others) == 1 else "are",
                       shown)
    return sorted(found)


def expand_folders(inputs: Sequence[str], outputs: Sequence[str | Path | None] = (),
                   select: FileFilter | None = None, *, warn: bool = True) -> list[str]:
    """``inputs`` with each folder replaced by its files (``_folder_files``); files and
    '-' stay as they are, in order. A command's own ``outputs`` (files, or folders
    and what they hold) inside an input folder are not inputs: a rerun does not read
    the last run's output. Without ``warn``, an earlier run's output folder among the
    inputs is left out without a word (a look ahead at inputs read again later)."""
    mine = [Path(o).resolve() for o in outputs if o is not None and str(o) != "-"]
    out: list[str] = []
    for item in inputs:
        path = Path(item)
        if item != "-" and path.is_dir():
            for f in _folder_files(path, select=select, quiet=mine, warn=warn):  # its own output: no earlier run's
                full = f.resolve()
                if not any(full == o or o in full.parents for o in mine):
                    out.append(str(f))
        else:
            out.append(item)
    return out


def input_name(file: Path, folder: Path) -> str:
    """The name of a ``file`` found in an input ``folder``: its sub-folder there and its
    name without extensions (``en/part-0``, ``news/a/index``)."""
    rel = file.relative_to(folder).parent
    return str(rel / _stem(file.name)) if str(rel) != "." else _stem(file.name)


def _file_identity(path: str) -> object:
    """What makes two input names one file: its device and inode (a hard link to a file is
    that file; so is a symbolic link), else (no inode: some file systems) its real path."""
    try:
        st = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return (st.st_dev, st.st_ino) if st.st_ino else os.path.realpath(path)


def _not_a_link(path: str) -> bool:
    return os.path.abspath(path) == os.path.realpath(path)


def discover_shards(inputs: Sequence[str], exclude: Path | None = None, *,
                    one_output_each: bool = True, select: FileFilter | None = None) -> list[tuple[str, str]]:
    """(input path, output name REL/NAME) for every input file, in a stable order;
    files under ``exclude`` (the output folder, when it sits inside an input folder)
    are not inputs. Without ``one_output_each`` (a run that writes one stream, not a
    shard per input), two inputs may share an output name.

    Raises:
        InputError: an input does not exist; ``PlanError``: (``one_output_each``) two
            inputs map to one output name.
    """
    found: list[tuple[str, str]] = []
    skip = exclude.resolve() if exclude is not None else None
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for f in _folder_files(path, skip, select):
                found.append((str(f), input_name(f, path)))
        elif path.exists():  # a file, or a named pipe (<(zcat x.gz)) read once
            found.append((str(path), _stem(path.name)))
        else:
            raise InputError(f"{item}: no such file or folder")
    # a file given twice, or under a link to it (symbolic or hard), is read once: as itself
    # (not a symbolic link) if it is there
    keys = [_file_identity(src) for src, _ in found]
    real: dict[object, str] = {}
    for (src, _), key in zip(found, keys):
        if key not in real or (_not_a_link(src) and not _not_a_link(real[key])):
            real[key] = src
    seen: dict[str, str] = {}
    taken: set[str] = set()
    unique: list[tuple[str, str]] = []
    clashes: list[str] = []
    apart = False  # a clash of files in different folders: their common parent as the input keeps them apart
    for (src, name), key in zip(found, keys):
        same = real[key]
        if same != src:
            logger.warning("%s is the same file as %s: read once", src, same)
            continue
        if src in taken:
            logger.warning("%s is given twice: read once", src)
            continue
        taken.add(src)
        if name in seen and one_output_each:
            clashes.append(f"{seen[name]} and {src} would both write {name}.*")
            apart = apart or os.path.dirname(os.path.abspath(seen[name])) != os.path.dirname(os.path.abspath(src))
            continue
        seen[name] = src
        unique.append((src, name))
    if clashes:  # every pair at once: not one per rerun
        more = f" (and {len(clashes) - 10} more)" if len(clashes) > 10 else ""
        advice = ("rename one of each, or give their folders' parent folder as the input (outputs keep "
                  "sub-folders)" if apart else "their names differ only in their extensions: rename one of each "
                  "(a shard's outputs are named by its file name without extensions)")
        raise PlanError(f"{'; '.join(clashes[:10])}{more}; {advice}")
    return unique


#: What a shard NAME writes beside its output (``clean.clean_shard``), besides NAME + suffix.
_SHARD_FILES = (".rejects.jsonl", DROPPED_SUFFIX, ".report.json")


def _shard_files(name: str, suffix: str) -> tuple[str, ...]:
    """The files shard ``name`` writes (not split by language): output, rejects, report."""
    name = output_name(name)
    return (name + suffix, *(name + end for end in _SHARD_FILES))


#: The longest file name (bytes) a shard's output names start from: what a shard adds to it,
#: ``.dropped.jsonl`` or ``.xxx.jsonl.zst`` and an unfinished file's ``.RUN.part``, is at most 32
#: bytes, and file systems allow 255 (ext4, XFS, APFS, NTFS).
OUTPUT_NAME_BYTES = 223


def output_name(name: str) -> str:
    """Shard ``name`` (``REL/NAME``) as its output files are named: itself, or when its
    file name is longer than ``OUTPUT_NAME_BYTES`` (a page saved under a long URL), its
    first 200 bytes and a hash of the whole (``~`` and 12 hex digits), so that its files
    and their unfinished ``.part`` copies can be created (the shard failed every run,
    "File name too long"); documents and reports keep the shard's name."""
    folder, slash, base = name.rpartition("/")
    raw = base.encode("utf-8", "surrogateescape")
    if len(raw) <= OUTPUT_NAME_BYTES:
        return name
    digest = hashlib.sha256(raw).hexdigest()[:12]
    short, size = [], 0
    for char in base:  # whole characters (an undecodable byte as its lone surrogate)
        size += len(char.encode("utf-8", "surrogateescape"))
        if size > 200:
            break
        short.append(char)
    return f"{folder}{slash}{''.join(short)}~{digest}"


def _refuse_file_name_clashes(names: list[str], suffix: str) -> None:
    """Refuse shards whose files would have one name: shard ``x.rejects`` written
    without compression is ``x.rejects.jsonl``, shard ``x``'s rejects file. (No shard
    is under a folder ``_report.json``: folders named ``_...`` are no inputs.)

    Raises:
        PlanError: naming both shards.
    """
    owner: dict[str, str] = {}
    for name in names:
        for file in _shard_files(name, suffix):
            other = owner.setdefault(file, name)
            if other != name:
                raise PlanError(f"shards {other} and {name} would both write {file}; rename one of their inputs")


def _refuse_inputs_as_outputs(inputs: Sequence[str], shards: list[tuple[str, str]], output_dir: Path,
                              suffix: str) -> None:
    """Refuse a run that would write over its own input: ``sieve clean a.jsonl -o .
    --compression none`` writes ``./a.jsonl``; ``sieve clean DIR -o DIR`` has no input
    left (the output folder is never read).

    Raises:
        PlanError: naming the input and what to do.
    """
    out = os.path.realpath(output_dir)
    for item in inputs:
        if item != "-" and os.path.isdir(item) and os.path.realpath(item) == out:
            raise PlanError(f"{item} is the output folder too: write the clean corpus to another -o")
    sources = {os.path.realpath(src) for src, _ in shards}
    for _, name in shards:
        for file in _shard_files(name, suffix):
            if os.path.join(out, file) in sources:
                raise PlanError(f"shard {name} would write {output_dir / file}, one of the inputs: "
                                 "write to another -o")
    if os.path.join(out, REPORT_NAME) in sources:
        raise PlanError(f"the run report {output_dir / REPORT_NAME} would be written over an input: "
                         "write to another -o")


def _refuse_language_name_clashes(names: list[str], model_dir: str | None) -> None:
    """With ``--split-by-language`` shard ``a`` writes ``a.de.jsonl.gz`` for German:
    a shard named ``a.de`` beside it would make one file name mean two things (and
    two workers could both claim it), so such a pair is refused before any work. A
    pair whose last part is no language the model gives (``data`` and ``data.raw``)
    cannot clash."""
    present = set(names)
    languages = functools.cache(lambda: _split_languages(model_dir))  # read only for a pair that may clash
    for name in names:
        head, dot, lang = name.rpartition(".")
        if dot and head in present and normalize_lang(lang) == lang:
            known = languages()
            if known is not None and lang not in known:
                continue
            raise PlanError(f"with --split-by-language, shard {head}'s '{lang}' output is named like shard {name}'s "
                             "outputs; rename one of the two inputs")


def _split_languages(model_dir: str | None) -> frozenset[str] | None:
    """The languages a split shard may be named by: the language model's, and ``und``
    (None when the model cannot be read: then any code of two or three letters)."""
    from .clean import UNDETERMINED
    from .pipeline import LID_MODEL_FILE, default_model_dir

    try:
        from .language import LanguageIdentifier

        folder = Path(model_dir) if model_dir else default_model_dir()
        return LanguageIdentifier(folder / LID_MODEL_FILE).languages() | {UNDETERMINED}
    except (ClassifierError, OSError, ValueError):
        return None


def _with_earlier_outputs(tasks: list[ShardTask]) -> list[ShardTask]:
    """The tasks, each with the files beside its output that may be its outputs of an
    earlier run (``clean_shard`` deletes those it does not write again). One listing
    per output folder, not one per shard: a folder may hold a million shards."""
    found: dict[int, list[str]] = {}
    for folder, names in _by_folder(tasks).items():
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:  # a first run: nothing written yet; or not a folder: its shards fail, and say why
            continue
        for entry in entries:
            if entry.name.endswith(".part"):  # a stopped run's unfinished file (no run writes here now)
                _remove_unfinished(folder, entry, names)
                continue
            for owner in earlier_output_owners(entry.name):
                if owner in names and entry.is_file():
                    found.setdefault(names[owner], []).append(entry.name)
    return [replace(t, earlier_outputs=tuple(sorted(found[i]))) if i in found else t for i, t in enumerate(tasks)]


def _by_folder(tasks: Iterable[ShardTask]) -> dict[Path, dict[str, int]]:
    """The tasks' output names by output folder, each with its task's index."""
    by_folder: dict[Path, dict[str, int]] = {}
    for i, t in enumerate(tasks):
        by_folder.setdefault(Path(t.output).parent, {})[Path(t.output).name] = i
    return by_folder


_RUN_TAG = re.compile(r"\.[0-9a-f]{12}$")


def _remove_unfinished(folder: Path, entry: os.DirEntry[str], shards: dict[str, int]) -> None:
    """Delete ``entry``, an unfinished ``.part`` file of a stopped run, when it is named
    as a file one of ``shards`` writes (its output in any language or compression,
    rejects, report): a rerun with other options would not write it again."""
    name = _RUN_TAG.sub("", entry.name[: -len(".part")])  # NAME.RUN.part: a run's unfinished file
    owners = earlier_output_owners(name) + [name[: -len(end)] for end in _SHARD_FILES if name.endswith(end)]
    if any(owner in shards for owner in owners) and entry.is_file(follow_symlinks=False):
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            logger.info("removed %s, an unfinished file of a stopped run", folder / entry.name)


def _warn_unread_in_output(inputs: Sequence[str], output_dir: Path, echo: Callable[[str], None]) -> None:
    """Files under the output folder, when it sits inside an input folder, are not read
    (a rerun must not read the last run's output): say so of those that are not
    Sieve's own outputs (a shard's outputs have their ``NAME.report.json`` beside
    them), or input files put there would be left out without a word."""
    if not output_dir.is_dir() or not any(Path(i).is_dir() and Path(i).resolve() in output_dir.resolve().parents
                                          for i in inputs if i != "-"):
        return
    unread = []
    for top, _, files in os.walk(output_dir):
        names = set(files)
        for name in files:
            if name.startswith((".", "_")) or name.endswith((*_SHARD_FILES, ".part")):
                continue
            if any(f"{owner}.report.json" in names for owner in earlier_output_owners(name)):
                continue  # a shard's output
            unread.append(os.path.relpath(os.path.join(top, name), output_dir))
    if unread:
        shown = ", ".join(sorted(unread)[:3]) + (", ..." if len(unread) > 3 else "")
        echo(f"sieve clean: warning: {len(unread)} files under the output folder {output_dir}, inside an input "
             f"folder, are not read as inputs ({shown}): move them out of it, or write to another -o")


def _warn_other_finished_shards(output_dir: Path, tasks: Sequence[ShardTask], echo: Callable[[str], None]) -> None:
    """Say so when the output folder holds finished shards of inputs this run was not
    given (an earlier run of other inputs into it): their outputs stay, but the run's
    ``_report.json`` counts this run's shards only, and a user checking the folder
    against it would find more records than it says."""
    if not output_dir.is_dir():
        return
    mine = {os.path.abspath(t.output) + ".report.json" for t in tasks}
    others: list[str] = []
    for top, dirs, files in os.walk(output_dir):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        others.extend(os.path.join(top, f) for f in files if f.endswith(".report.json")
                      and os.path.abspath(os.path.join(top, f)) not in mine)
    if others:
        shown = ", ".join(sorted(os.path.relpath(o, output_dir).removesuffix(".report.json") for o in others)[:3])
        echo(f"sieve clean: note: {output_dir} also holds {len(others):,} finished shard(s) of inputs not given to "
             f"this run ({shown}{', ...' if len(others) > 3 else ''}): they stay, and {REPORT_NAME} will count "
             "this run's shards only")


def _input_changed(task: ShardTask, report: dict[str, Any]) -> bool:
    """Whether a finished shard's input, the same file, has another size or time now
    than when the shard was made (a report without them, of an earlier Sieve: no)."""
    then = report.get("input_stat")
    made_from = report.get("input")
    if not isinstance(then, dict) or not isinstance(made_from, str):
        return False
    if os.path.realpath(made_from) != os.path.realpath(task.input):
        return False  # another file of the same name: _check_finished_inputs refuses it
    return input_stamp(task.input) != then


def _outputs_changed(task: ShardTask, report: dict[str, Any]) -> bool:
    """Whether a finished shard's outputs are gone, or have another size than its report
    records (deleted, cut, replaced: a report of an earlier Sieve records none)."""
    sizes = report.get("output_bytes")
    if not isinstance(sizes, dict):
        return False
    folder = Path(task.output).parent
    for name, size in sizes.items():
        try:
            if (folder / str(name)).stat().st_size != size:
                return True
        except OSError:
            return True
    return False


def _check_finished_inputs(output_dir: Path, tasks: list[ShardTask], reports: dict[str, dict[str, Any]]) -> None:
    """Refuse to reuse a finished shard made from another input file of the same name
    (``crawl-01/part-0.jsonl`` then ``crawl-02/part-0.jsonl`` into one ``-o``): the
    second file would never be read.

    Raises:
        InputError: naming the first such shard, both files, and what to do.
    """
    others = []
    for t in tasks:
        made_from = reports.get(t.name, {}).get("input")
        if isinstance(made_from, str) and os.path.realpath(made_from) != os.path.realpath(t.input):
            others.append((t.name, made_from, t.input))
    if others:
        name, made_from, now = others[0]
        more = f" (and {len(others) - 1} more)" if len(others) > 1 else ""
        raise InputError(f"{output_dir}: the finished shard {name} was made from {made_from}, not {now}{more}; "
                         "pass --overwrite to redo it from this input, or write to another -o")


def _check_finished_options(output_dir: Path, current: dict[str, Any], reports: dict[str, dict[str, Any]]) -> None:
    """Refuse to reuse finished shards made with other options than this run's: their
    outputs are not what this run would write (``options.shard_options``).

    Raises:
        InputError: a finished shard's report records other options (one line: the
            folder, the differing options, and what to do).
    """
    current = json.loads(json.dumps(current))  # as a report holds them (lists, not tuples)
    differing: dict[str, None] = {}
    shards = 0
    for report in reports.values():
        found = option_differences(report.get("options"), current)
        shards += bool(found)
        differing.update(dict.fromkeys(found))
    if differing:
        raise InputError(f"{output_dir}: {shards} finished shard(s) were made with other options "
                         f"({'; '.join(differing)}); pass --overwrite to redo them, or write to another -o")


@dataclass
class RunResult:
    """What a run did: its report, the shards run now and skipped as finished."""

    report: dict[str, Any]
    ran: int
    skipped: int
    failed: list[tuple[str, str]]  # (shard, error) of shards that raised
    seconds: float
    report_path: Path | None = None  # OUTPUT_DIR/_report.json, None when not written (a shard failed)


def describe_failure(error: BaseException | None) -> str:
    """One line for a shard's failure: our errors as they are, a file system error
    as ``path: reason``, anything else with its type."""
    if isinstance(error, ClassifierError):
        return str(error)
    if isinstance(error, OSError) and error.strerror and error.filename:
        return f"{error.filename}: {error.strerror}"
    return f"{type(error).__name__}: {error}"


def _make_output_folder(output_dir: Path) -> None:
    """Create ``output_dir`` (and its parents) and check it can be written, so that a
    wrong -o is one error before any work, not one per shard.

    Raises:
        InputError: naming the folder and why.
    """
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the output folder {output_dir} ({err.strerror or err}); "
                         "pass another -o") from err
    if not os.access(output_dir, os.W_OK | os.X_OK):
        raise InputError(f"cannot write to the output folder {output_dir} (permission denied); pass another -o")


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    for f in (folder, *folder.parents):
        if f.exists():
            break
        missing.append(f)
    return missing


def _remove_empty_folders(folders: Sequence[Path]) -> None:
    """Remove each of ``folders`` (deepest first) that is empty; keep any other."""
    for f in folders:
        try:
            f.rmdir()
        except OSError:  # not empty (someone wrote into it meanwhile), or gone
            return


def _progress(total: int, enabled: bool) -> Any:
    """A tqdm bar on a terminal, else None (plain log lines are printed instead)."""
    if not enabled or total == 0:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    class Bar(tqdm):  # type: ignore[type-arg,misc]
        monitor_interval = 0  # no monitor thread: the bar moves once a shard, and workers fork (_start_method)

    try:
        columns, rows = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        columns = rows = 0
    if not columns or not rows:  # a terminal of no size (`script`, `docker exec -t`): tqdm showed nothing at all
        return Bar(total=total, unit="shard", file=sys.stderr, ncols=80, nrows=24, leave=True)
    return Bar(total=total, unit="shard", file=sys.stderr, dynamic_ncols=True, leave=True)


@contextmanager
def _log_around(bar: Any) -> Iterator[None]:
    """Log records written to standard error while ``bar`` shows go above it, as
    ``tqdm.write`` puts them."""
    from tqdm.contrib.logging import logging_redirect_tqdm

    with logging_redirect_tqdm(tqdm_class=type(bar)):
        yield


def run_clean(
    inputs: Sequence[str],
    output_dir: Path,
    policy: CleanPolicy,
    *,
    workers: int = 1,
    engine: str = "local",
    scheduler: str | None = None,
    overwrite: bool = False,
    model_dir: str | None = None,
    model_choice: str = "auto",
    templates: str | None = None,
    input_format: str = "auto",
    text_field: str = "text",
    id_field: str = "id",
    max_bytes: int | None = None,
    publisher: str | None = None,
    suffix: str = ".jsonl.gz",
    progress: bool | None = None,
    echo: Callable[[str], None] | None = None,
    on_failure: Callable[[str, str], None] | None = None,
    select: FileFilter | None = None,
) -> RunResult:
    """Clean every input shard into ``output_dir`` and write ``_report.json`` (not
    when a shard failed).

    Args:
        echo: called with a progress line per finished shard (without a progress bar).
        select: which files of the input folders are shards (``--include``, ``--exclude``).
        on_failure: called with the name of a shard that failed and one line saying
            why, as it happens; without it, the failure is logged at ERROR.

    Raises:
        InputError: the inputs cannot be planned (``PlanError``: two shards would
            write one file, or an output would be written over an input), finished
            shards were made with other options, the output folder cannot be
            written, or the Dask scheduler cannot be reached; all before any shard
            runs.
        ModelError: a model card cannot be read (for the options check).
    """
    started = time.perf_counter()
    # absolute: a Dask worker does not run in this folder
    output_dir = output_dir.absolute()
    # the folder SIEVE_MODEL_DIR names here, not the one it names (or not) on a Dask worker
    model_dir = model_dir or os.environ.get("SIEVE_MODEL_DIR") or None
    model_dir = os.path.abspath(model_dir) if model_dir else None
    templates = os.path.abspath(templates) if templates else None
    shards = [(os.path.abspath(src), name) for src, name in discover_shards(inputs, exclude=output_dir,
                                                                             select=select)]
    pipes = [src for src, _ in shards if not os.path.isfile(src)]
    if pipes:  # read once: no worker could open it, no rerun could read it again
        raise InputError(f"{pipes[0]} is no regular file (a named pipe?): a shard must be a file a rerun can "
                         "read again; clean a stream with '-' to standard output, or save it to a file first")
    _refuse_inputs_as_outputs(inputs, shards, output_dir, suffix)
    if echo is not None:
        _warn_unread_in_output(inputs, output_dir, echo)
    if not shards and echo is not None:
        chosen = f" that {select.describe()} choose" if select else ""
        echo(f"sieve clean: warning: no input file{chosen} in {', '.join(inputs)}")
    _refuse_file_name_clashes([name for _, name in shards], suffix)
    if policy.split_by_language:
        _refuse_language_name_clashes([name for _, name in shards], model_dir)
    base = ShardTask(input="", output="", name="", policy=policy, model_dir=model_dir, model_choice=model_choice,
                     templates=templates, publisher=publisher,
                     input_format=input_format, text_field=text_field, id_field=id_field, suffix=suffix)
    if max_bytes is not None:
        base = replace(base, max_bytes=max_bytes)
    tasks = [replace(base, input=src, output=str(output_dir / output_name(name)), name=name) for src, name in shards]
    reports: dict[str, dict[str, Any]] = {}
    todo: list[ShardTask] = []
    changed: list[str] = []  # finished shards whose input file has changed since
    damaged: list[str] = []  # ... whose outputs are gone or changed since
    for t in tasks:
        done = shard_report_path(t.output)
        if done.exists() and not overwrite:
            try:
                report = json.loads(done.read_text(encoding="utf-8"))
                if not isinstance(report, dict):
                    raise ValueError("not a report")
                if report.get(UNFINISHED):  # a redo that was stopped: done again
                    todo.append(t)
                    continue
                if _input_changed(t, report):
                    changed.append(t.name)
                    todo.append(t)
                    continue
                if _outputs_changed(t, report):
                    damaged.append(t.name)
                    todo.append(t)
                    continue
                reports[t.name] = report
                continue
            except (OSError, ValueError):
                logger.warning("shard report %s is damaged: redoing the shard", done)
        todo.append(t)
    if changed and echo is not None:
        shown = ", ".join(changed[:3]) + (", ..." if len(changed) > 3 else "")
        echo(f"sieve clean: {len(changed)} finished shard(s) redone: their input changed since ({shown})")
    if damaged and echo is not None:
        shown = ", ".join(damaged[:3]) + (", ..." if len(damaged) > 3 else "")
        echo(f"sieve clean: {len(damaged)} finished shard(s) redone: their outputs (or rejects or dropped lists) "
             f"are gone or changed since "
             f"({shown})")
    skipped = len(tasks) - len(todo)

    @functools.cache
    def now() -> dict[str, Any]:  # the options a shard of this run records (model cards read once)
        return current_options(base)

    if echo is not None:
        _warn_other_finished_shards(output_dir, tasks, echo)
    if reports:
        _check_finished_inputs(output_dir, tasks, reports)
        _check_finished_options(output_dir, now(), reports)
        reports = {name: _slim(r) for name, r in reports.items()}
    made = _missing_folders(output_dir)
    _make_output_folder(output_dir)  # with no shard to do too: _report.json goes there
    # a Dask scheduler that cannot be reached fails the run here, before any work
    connect = _dask_client(workers, scheduler) if engine == "dask" and todo else nullcontext()
    stopped: list[ShardTask] = []  # the shards of a run stopped on a local Dask cluster
    with contextlib.ExitStack() as stack:
        # once the cluster is closed (its workers killed under the shards they held): their unfinished files
        stack.callback(lambda: _remove_stopped(stopped, this_run_only=True))
        try:
            client = stack.enter_context(connect)
        except BaseException:  # nothing was written: the folders this run made go too
            _remove_empty_folders(made)
            raise
        stack.enter_context(_output_lock(output_dir, _by_folder(todo)))
        run = stack.enter_context(_named_run(output_dir))
        # on a cluster each worker checks it sees the command's files and would clean as the command would
        expected = expected_on_worker(now()) if client is not None else ""
        todo = [replace(t, run=run, run_file=str(output_dir / RUN_FILE), expected=expected) for t in todo]
        todo = _with_earlier_outputs(todo)  # under the lock: it removes unfinished files of a stopped run
        if todo:  # a report from an earlier run no longer describes the outputs: gone until this run ends
            (output_dir / REPORT_NAME).unlink(missing_ok=True)
        if skipped:
            logger.info("%d of %d shards are finished already (use --overwrite to redo them)", skipped, len(tasks))
        show = sys.stderr.isatty() if progress is None else progress
        bar = _progress(len(todo), show)
        failed: list[tuple[str, str]] = []
        docs_done = 0

        def finished(task: ShardTask, report: dict[str, Any] | None, error: BaseException | None) -> None:
            nonlocal docs_done
            if report is not None:
                reports[task.name] = _slim(report)
                docs_done += report["read"]
                _warn_all_rejected(task, report)
            else:
                failed.append((task.name, describe_failure(error)))
                if on_failure is not None:  # as it happens: a run may be long
                    with bar.external_write_mode(file=sys.stderr) if bar is not None else nullcontext():
                        on_failure(task.name, failed[-1][1])
                    logger.debug("shard %s failed", task.name, exc_info=error)
                else:
                    logger.error("shard %s failed: %s", task.name, failed[-1][1], exc_info=error)
            rate = rate_text(docs_done / max(time.perf_counter() - started, 1e-9))
            if bar is not None:
                bar.set_postfix_str(f"{rate} docs/s", refresh=False)
                bar.update(1)
            elif echo is not None and report is not None:
                n = len(reports) - skipped
                echo(f"sieve clean: shard {n}/{len(todo)} {task.name}: {report['read']:,} read, "
                     f"{report['written']:,} written ({rate} docs/s)")

        try:
            if bar is not None:  # a warning said meanwhile goes on a line of its own, not after the bar's text
                stack.enter_context(_log_around(bar))
            for task, report, error in _execute(todo, workers, client):
                if isinstance(error, WorkerMismatch):  # every shard it takes would fail alike: one message
                    raise InputError(f"shard {task.name}: {error}. The run stopped: the shards finished so far "
                                     "are kept, a rerun does the others")
                if isinstance(error, Superseded):  # the run file is gone or another's: so for every shard
                    raise InputError(f"{error}. The run stopped: a rerun does the shards not finished")
                finished(task, report, error)
        except BaseException:
            if client is not None and not scheduler:
                stopped.extend(todo)
            raise
        finally:
            if bar is not None:
                bar.close()
        ordered = [reports[t.name] for t in tasks if t.name in reports]
        report = merge_reports(ordered, policy)
        try:
            report_path = None if failed else write_run_report(output_dir / REPORT_NAME, report)
        except OSError as err:  # every shard is finished and kept: a rerun writes the report
            raise InputError(f"cannot write the run report {output_dir / REPORT_NAME}: {err.strerror or err}; "
                             "the shards are finished: rerun to write it") from err
        # by name: in the order they failed, the list changed with the number of workers
        return RunResult(report, len(todo) - len(failed), skipped, sorted(failed), time.perf_counter() - started,
                         report_path)


def rate_text(per_second: float) -> str:
    """A rate as the progress lines give it: whole numbers from 10, two significant
    digits below (a run's slow start, one big shard: "0.42", not "0")."""
    return f"{per_second:,.0f}" if per_second >= 10 else f"{per_second:.2g}"


def _warn_all_rejected(task: ShardTask, report: dict[str, Any]) -> None:
    """A warning for a shard whose every record was rejected: in a folder of shards the
    run may well be fine as a whole (exit status 0), and that shard's data lost without
    a word but a count. When most were ``bad_schema`` and its records hold another field
    than the run's --text-field (RedPajama's ``raw_content`` among ``text`` shards), the
    warning names the likely field."""
    rejected = report.get("rejected") or {}
    # of the records read, the documents: a WARC's warcinfo and requests are read and skipped
    read = report.get("read", 0) - report.get("skipped", 0)
    if read <= 0 or sum(rejected.values()) < read:
        return
    reasons = ", ".join(f"{n:,} {why}" for why, n in sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0])))
    hint = ""
    if rejected.get("bad_schema", 0) * 2 >= read:
        from .readers import missing_text_field

        try:
            check = missing_text_field([task.input], input_format=task.input_format, text_field=task.text_field)
        except Exception:  # noqa: BLE001 - a hint, never a failure of the run
            check = None
        likely = check.likely_text_field() if check is not None else None
        if likely:
            hint = (f"; its records have no '{task.text_field}' field but '{likely}': name both, "
                    f"--text-field {task.text_field},{likely} (the first a record has is read)")
    logger.warning("shard %s: every one of its %s documents was rejected (%s; see %s)%s", task.name,
                   f"{read:,}", reasons, task.output + ".rejects.jsonl", hint)


@contextmanager
def _named_run(output_dir: Path) -> Iterator[str]:
    """A new run's id, named in ``OUTPUT_DIR/RUN_FILE`` while the run goes on: a shard of
    a stopped run still going on a Dask worker finds another run (or none) named there,
    and puts no file in place (``clean.ShardTask.run``)."""
    run = uuid.uuid4().hex[:12]
    try:
        write_text_atomic(output_dir / RUN_FILE, run + "\n")
    except OSError as err:  # a full disk or a folder of no free inodes: one line, before any work
        raise InputError(f"cannot write {output_dir / RUN_FILE}: {err.strerror or err}") from err
    try:
        yield run
    finally:  # ended, or stopped
        (output_dir / RUN_FILE).unlink(missing_ok=True)


def _slim(report: dict[str, Any]) -> dict[str, Any]:
    """What the run report needs of a shard report (``merge_reports``): a run of a
    million shards keeps a million of them until it ends."""
    return {k: v for k, v in report.items() if k not in ("options", "outputs", "output_bytes", "input", "input_stat")}


#: The lock file a run holds in its output folder (hidden: never an input).
LOCK_NAME = ".sieve-clean.lock"


@contextmanager
def _output_lock(output_dir: Path, folders: Iterable[Path] = ()) -> Iterator[None]:
    """Hold ``OUTPUT_DIR/.sieve-clean.lock`` for the run: a second run into the same
    folder at the same time would write the same temporary files and could leave a
    shard mixed from both, marked finished. So would a run into a folder above it, or
    into one of the sub-folders ``folders`` the run writes into (or one between them):
    such a run, writing now, is refused too. The lock goes with the process (even
    after ``kill -9``). Where the file system has no locks, the run goes on unlocked.

    Raises:
        InputError: another run holds the folder, or one above or below it that it writes into.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    handle: IO[bytes]
    try:
        try:
            handle = open(output_dir / LOCK_NAME, "a+b")
        except PermissionError:  # another user's lock file (a folder a team shares): a lock needs no
            handle = open(output_dir / LOCK_NAME, "rb")  # write access to it, and that user's run holds it
    except OSError as err:
        logger.debug("no lock on %s: %s", output_dir, err)
        yield
        return
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise InputError(f"another `sieve clean` is writing into {output_dir} now; wait for it to end, "
                             "or write to another -o") from err
        except OSError as err:  # a file system without locks (some network mounts)
            logger.debug("no lock on %s: %s", output_dir, err)
        # another run writing into a folder above this one, or below it where this run writes
        # too: each removed the other's unfinished files and put its shards over the other's
        nested: set[Path] = set(output_dir.parents)
        for folder in folders:
            nested.update(f for f in (folder, *folder.parents) if output_dir in f.parents)
        for other in sorted(nested):
            if _held(other / LOCK_NAME):
                where = (f"a folder above {output_dir} (it may write into it)" if other in output_dir.parents
                         else "where this run writes too")
                raise InputError(f"another `sieve clean` is writing into {other} now, {where}; wait for it to end, "
                                 "or write to another -o")
        yield


def _held(lock: Path) -> bool:
    """Whether a run holds the lock file ``lock`` now (a file left by an earlier run is held by none)."""
    import fcntl

    try:
        with open(lock, "rb") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)  # let go as the file closes
            except BlockingIOError:
                return True
    except OSError:  # no lock file there (nor any run), or a file system without locks
        return False
    return False


def _execute(tasks: list[ShardTask], workers: int, dask_client: Any
             ) -> Iterator[tuple[ShardTask, dict[str, Any] | None, BaseException | None]]:
    """Run ``clean_shard`` on each task (on the Dask cluster of ``dask_client``, if
    any); yield (task, report, error) as shards finish."""
    if not tasks:
        return
    if dask_client is not None:
        yield from _execute_dask(tasks, dask_client)
        return
    if workers <= 1 or len(tasks) == 1:
        for t in tasks:
            try:
                yield t, clean_shard(t), None
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as err:  # noqa: BLE001 - one broken shard must not stop the others
                yield t, None, err
        return
    # workers start as ``_start_method`` says; each loads the models once and keeps
    # them. A worker that dies (the kernel's out-of-memory killer, a crash in native
    # code) breaks the whole pool: the shards it
    # held are then run again, each alone in a pool of its own, so that only the
    # one that kills its worker again fails, and the run goes on with a new pool.
    queue = list(reversed(tasks))
    suspects: list[ShardTask] = []
    while queue or suspects:
        if suspects:  # each alone in a pool of its own, as many at once as there are workers
            batch, suspects = suspects[:workers], suspects[workers:]
            pools: list[ProcessPoolExecutor] = []
            try:
                running = []
                for t in batch:  # one after the other: each pool's start method sees the threads of those before
                    pools.append(_pool(1))
                    running.append((t, pools[-1].submit(clean_shard, t)))
                for t, fut in running:
                    try:
                        yield t, fut.result(), None
                    except BrokenProcessPool:
                        yield t, None, WorkerDied(f"the worker cleaning shard {t.name} died (killed: out of "
                                                  "memory?); the other shards went on")
                    except Exception as err:  # noqa: BLE001 - reported per shard
                        yield t, None, err
            except BaseException:  # Ctrl-C: no more shards
                for pool in pools:
                    _stop(pool)
                _remove_stopped(batch)
                raise
            finally:
                for pool in pools:
                    pool.shutdown(wait=True)
            continue
        with _pool(min(workers, len(queue))) as pool:
            pending: dict[Future[dict[str, Any]], ShardTask] = {}
            limit = 2 * workers  # a few tasks ahead, so a million shards do not sit in the queue
            try:
                while queue or pending:
                    while queue and len(pending) < limit:
                        pending[pool.submit(clean_shard, queue[-1])] = queue[-1]
                        queue.pop()
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    broken = None
                    for fut in sorted(done, key=lambda f: pending[f].name):
                        failure = fut.exception()
                        if isinstance(failure, BrokenProcessPool):
                            broken = failure  # after the shards that did finish are reported
                            continue
                        t = pending.pop(fut)
                        yield (t, None, failure) if failure is not None else (t, fut.result(), None)
                    if broken is not None:
                        raise broken
            except BrokenProcessPool:
                # every shard not yet reported is a suspect, in name order
                suspects = sorted(pending.values(), key=lambda t: t.name)
                logger.warning("a worker died; the %d shard(s) it may have held run again, each alone in a "
                               "worker of its own", len(suspects))
            except BaseException:  # Ctrl-C, or the caller stopped: no more shards
                _stop(pool)
                _remove_stopped(pending.values())
                raise


class WorkerDied(ClassifierError):
    """A worker process died while cleaning a shard (and again when the shard ran alone)."""


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context(_start_method()),
                               initializer=_worker_init, initargs=(os.getpid(),))


def _start_method() -> str:
    """``fork`` on Linux when this process runs one thread, else ``spawn``.

    A forked worker starts without a new interpreter or imports and ends without the
    interpreter's teardown (about 0.3 s of a run's start-up with 2 workers). Forking
    is only safe with one thread: another thread (Python's or native, such as an
    OpenMP pool a caller's scikit-learn started) may hold a lock the child would
    wait on for ever, so then, and where fork is not the norm (macOS, Windows),
    each worker is a fresh interpreter.
    """
    if not sys.platform.startswith("linux"):
        return "spawn"
    try:
        threads = len(os.listdir("/proc/self/task"))  # native threads too
    except OSError:
        return "spawn"
    return "fork" if threads == 1 else "spawn"


class ChildDied(ClassifierError):
    """A child process of ``in_child_process`` ended without an answer."""


def in_child_process(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a short-lived child process (forked or spawned as workers are,
    ``_start_method``): its result, or its exception raised here. What it imports and
    allocates ends with it: a look ahead at Parquet inputs imports pyarrow (about 60 MB,
    and threads of its own, after which this process could no longer fork its workers),
    which the process that only hands shards to its workers would hold for the whole
    run. ``fn``, its arguments, its result and its exceptions must pickle (an answer
    that does not is a ``RuntimeError`` naming it). A child that cannot be started
    (``OSError``: no memory to fork) leaves ``fn`` to run here.

    Raises:
        ChildDied: the child ended without an answer (killed, or a crash in native code).
    """
    ctx: Any = get_context(_start_method())  # a fork or spawn context: each has Process
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_answer, args=(send, fn, args), name="sieve-look-ahead", daemon=True)
    try:
        child.start()
    except OSError:
        receive.close()
        send.close()
        return fn(*args)
    send.close()  # the child's end only: an EOF when it ends without an answer
    try:
        try:
            ok, value = receive.recv()
        except EOFError:
            child.join()
            raise ChildDied(f"the child process looking ahead ended without an answer (exit status "
                            f"{child.exitcode})") from None
    finally:
        receive.close()
        if child.is_alive():  # Ctrl-C, SIGTERM: stopped with this process
            child.terminate()
        child.join()
    if ok:
        return value
    raise value


def _answer(send: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """In the child of ``in_child_process``: send (True, result) or (False, exception)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent ends this child, without a traceback
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked child has the run's handler
    try:
        answer: tuple[bool, Any] = (True, fn(*args))
    except Exception as err:  # noqa: BLE001 - raised again in the parent
        answer = (False, err)
    try:
        send.send(answer)
    except Exception as err:  # noqa: BLE001 - an answer that does not pickle
        send.send((False, RuntimeError(f"{type(answer[1]).__name__} could not be handed back: {err}")))
    send.close()


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop ``pool`` now: queued shards cancelled, running ones ended (their
    temporary files are removed or rewritten by a rerun); without this, leaving the
    pool's ``with`` would wait for every shard submitted."""
    workers = list((getattr(pool, "_processes", None) or {}).values())  # no public way to end running workers
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in workers:
        with contextlib.suppress(Exception):
            proc.terminate()
    for proc in workers:  # gone before their unfinished files are removed (``_remove_stopped``)
        with contextlib.suppress(Exception):
            proc.join(STOP_WAIT_SECONDS)


#: How long a stopped run waits for each terminated worker to end.
STOP_WAIT_SECONDS = 5.0


def _remove_stopped(tasks: Iterable[ShardTask], *, this_run_only: bool = False) -> None:
    """Remove the unfinished ``.part`` files of shards stopped under way in workers
    ``_stop`` ended (a worker ended by a signal removes none): as a rerun would
    (``_remove_unfinished``), so a stopped run leaves its finished files only. With
    ``this_run_only``, only the files of ``tasks``' run (``NAME.RUN.part``): those the
    workers of a local Dask cluster left, closed under the shards they held, once the run's
    lock is let go (another run may be writing into the folder already)."""
    tasks = list(tasks)
    ends = tuple(f".{run}.part" for run in {t.run for t in tasks if t.run}) if this_run_only else (".part",)
    for folder, names in _by_folder(tasks).items() if ends else ():
        try:
            with os.scandir(folder) as listing:
                entries = [e for e in listing if e.name.endswith(ends)]
        except OSError:
            continue
        for entry in entries:
            _remove_unfinished(folder, entry, names)


def _worker_init(parent: int | None = None) -> None:
    import signal

    # a forked worker has the run's SIGTERM handler (stop as Ctrl-C does, exit 143):
    # the run ends its workers with SIGTERM, and a worker ends at once, as a spawned one
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # force: a forked worker has the run's handlers, which would write its lines as the run's
    logging.basicConfig(level=logging.WARNING, format="sieve worker: %(levelname)s: %(message)s", stream=sys.stderr,
                        force=True)
    if parent is not None:
        _exit_with_parent(parent)


#: Seconds between a worker's checks that the run that started it is still there.
PARENT_CHECK_SECONDS = 1.0


def _exit_with_parent(parent: int) -> None:
    """End this worker process once ``parent``, the run that started it, is gone
    (``kill -9``, maybe before this worker got here): a pool worker waits for work
    forever otherwise, holding its memory, and one in the middle of a shard would
    write the files a rerun writes."""
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_SECONDS)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="sieve-parent-watch", daemon=True).start()


@contextmanager
def _dask_client(workers: int, scheduler: str | None) -> Iterator[Any]:
    """A Dask client: of the scheduler at ``scheduler``, else of a local cluster of
    ``workers`` processes; closed on exit.

    Raises:
        InputError: distributed is not installed, or the scheduler does not answer
            within ``DASK_CONNECT_TIMEOUT`` seconds (or its address is not one).
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:
        raise InputError("--engine dask needs dask's distributed: pip install 'sieve-corpus[dask]'") from err
    # dask logs every worker's start and stop at INFO: keep that for -vv
    if logging.getLogger().level > logging.DEBUG:
        _dask_log_level(logging.WARNING)
    cluster = None
    if scheduler:
        client = _connect(Client, scheduler)
        if not client.scheduler_info().get("workers"):  # a batch system's workers may still be queued
            logger.warning("the Dask scheduler at %s has no worker yet: the shards wait until workers join",
                           scheduler)
    else:
        # no dashboard; the scheduler's HTTP server (its health routes) still starts: on a
        # free port of this machine, not 8787, which another cluster may hold (a warning each run)
        cluster = LocalCluster(n_workers=max(workers, 1), threads_per_worker=1, processes=True,
                               dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                               env={"OMP_NUM_THREADS": "1"})
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _dask_log_level(level: int) -> None:
    """Set the level of dask's loggers, those its configuration gave a level of their own
    (``distributed.client``) too."""
    names = [n for n in logging.Logger.manager.loggerDict if n.startswith(("distributed.", "dask."))]
    for name in ("distributed", "dask", *names):
        logging.getLogger(name).setLevel(level)


def _connect(client_class: Any, scheduler: str) -> Any:
    """A client of the scheduler at ``scheduler``, within ``DASK_CONNECT_TIMEOUT``
    seconds (and a few more).

    distributed's own timeout covers the TCP connection, not the greeting after it:
    a port where something else listens (the dashboard's, a web server's) would keep
    the command waiting for ever. The client is made in a thread that is given up on.

    Raises:
        InputError: no answer in time, or the address or the answer is not a Dask
            scheduler's.
    """
    result: dict[str, Any] = {}

    def connect() -> None:
        try:
            result["client"] = client_class(scheduler, timeout=DASK_CONNECT_TIMEOUT)
        except BaseException as err:  # noqa: BLE001 - handed to the command's thread
            result["error"] = err

    thread = threading.Thread(target=connect, name="sieve-dask-connect", daemon=True)
    thread.start()
    thread.join(DASK_CONNECT_TIMEOUT + 5)
    err = result.get("error")
    if "client" in result:
        return result["client"]
    if isinstance(err, ValueError) and not isinstance(err, UnicodeError):  # "missing port number", a scheme
        raise InputError(f"--scheduler {scheduler}: not a Dask scheduler address ({err}); "
                         "give one like tcp://10.0.0.5:8786") from err
    if isinstance(err, OSError):  # distributed's connect timeout is an OSError
        raise InputError(f"no Dask scheduler answered at {scheduler} within {DASK_CONNECT_TIMEOUT} s; "
                         "start it or check the address (see `dask scheduler`)") from err
    what = f"({type(err).__name__}: {err})" if err is not None else f"(no Dask greeting within " \
        f"{DASK_CONNECT_TIMEOUT + 5} s)"
    raise InputError(f"something answered at {scheduler}, but not as a Dask scheduler {what}; check the port: "
                     "the scheduler's (8786 by default), not its dashboard's (8787)") from err


def _execute_dask(tasks: list[ShardTask], client: Any
                  ) -> Iterator[tuple[ShardTask, dict[str, Any] | None, BaseException | None]]:
    from distributed import as_completed

    # a key names one computation on the scheduler: two runs (another folder, other
    # options) with shards of the same names must not share a result (the run's id)
    run = tasks[0].run or uuid.uuid4().hex[:12]
    futures = {client.submit(clean_shard, t, key=f"sieve-clean-{run}-{i}", pure=False): t
               for i, t in enumerate(tasks)}
    try:
        for fut in as_completed(list(futures)):
            t = futures[fut]
            try:
                result = fut.result()
            except Exception as err:  # noqa: BLE001 - reported per shard
                if client.status not in ("running", "connecting") or "scheduler-connection-lost" in str(err):
                    # every shard not done fails alike; distributed's reconnect attempts log a
                    # traceback each as the client closes: one line instead
                    _dask_log_level(logging.CRITICAL)
                    raise InputError(f"lost the Dask scheduler during the run ({client.scheduler.address}): "
                                     "the shards finished so far are kept, a rerun does the others") from err
                yield t, None, err
            else:
                yield t, result, None
    finally:  # stopped (Ctrl-C, SIGTERM): the shards not started yet never start; one running
        # on a worker goes on to its end, and then finds the run stopped (ShardTask.run)
        pending = [f for f in futures if not f.done()]
        if pending:
            with contextlib.suppress(Exception):
                client.cancel(pending, force=True)
