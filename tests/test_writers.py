"""writers.py: atomic JSONL files, deterministic gzip, the rejects file name."""

from __future__ import annotations

import gzip
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from classifier.writers import JsonlWriter, dumps_record, is_special_file, rejects_path_for, write_text_atomic

RECORDS = [{"id": "a", "text": "Grüße, ça va? — 東京"}, {"id": "b", "n": [1, 2.5, None, True]}]


def test_records_are_written_as_utf8_json_lines(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "out.jsonl"
    with JsonlWriter(out) as w:
        for r in RECORDS:
            w.write(r)
    assert w.count == 2
    raw = out.read_bytes()
    assert "東京".encode() in raw  # not \\u-escaped
    assert [json.loads(line) for line in raw.decode("utf-8").splitlines()] == RECORDS
    assert not out.with_name("out.jsonl.part").exists()


def test_the_final_name_appears_only_when_complete(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with JsonlWriter(out) as w:
        w.write(RECORDS[0])
        assert not out.exists() and w.part is not None and w.part.exists()
    assert out.exists()


def test_an_exception_leaves_neither_the_file_nor_the_part(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError, match="stop"):
        with JsonlWriter(out) as w:
            w.write(RECORDS[0])
            raise RuntimeError("stop")
    assert sorted(tmp_path.iterdir()) == []


def test_an_exception_keeps_an_earlier_complete_file(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "old"}\n', encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        with JsonlWriter(out) as w:
            w.write(RECORDS[0])
            raise KeyboardInterrupt
    assert out.read_text(encoding="utf-8") == '{"id": "old"}\n'
    assert not (tmp_path / "out.jsonl.part").exists()


def test_lazy_writer_creates_nothing_without_records(tmp_path: Path) -> None:
    out = tmp_path / "rejects.jsonl"
    with JsonlWriter(out, lazy=True):
        pass
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_gzip_output_is_deterministic_and_readable(tmp_path: Path) -> None:
    paths = [tmp_path / "one" / "x.jsonl.gz", tmp_path / "two" / "y.jsonl.gz"]
    for p in paths:
        with JsonlWriter(p) as w:
            for r in RECORDS:
                w.write(r)
    first, second = (p.read_bytes() for p in paths)
    assert first == second  # no time stamp or file name in the header
    assert [json.loads(line) for line in gzip.decompress(first).decode().splitlines()] == RECORDS


def test_dash_writes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    with JsonlWriter("-") as w:
        w.write(RECORDS[1])
    assert capsys.readouterr().out == dumps_record(RECORDS[1]) + "\n"


def test_dumps_record_is_one_line_and_stable() -> None:
    rec = {"text": "line one\nline two", "z": 1, "a": 2}
    line = dumps_record(rec)
    assert "\n" not in line and json.loads(line) == rec
    assert line.index('"z"') < line.index('"a"')  # key order kept, not sorted


def test_rejects_path_sits_beside_the_output() -> None:
    assert rejects_path_for(Path("out/labelled.jsonl.gz")) == Path("out/labelled.jsonl.gz.rejects.jsonl")



def _read_fifo(path: Path) -> tuple[threading.Thread, list[bytes]]:
    got: list[bytes] = []

    def read() -> None:
        with open(path, "rb") as f:
            got.append(f.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader, got


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_written_in_place_never_replaced(tmp_path: Path) -> None:
    # renaming NAME.part over a pipe or a device (-o /dev/null, as root) would put a
    # regular file in its place: such a path is written directly
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert is_special_file(fifo) and not is_special_file(tmp_path) and not is_special_file(tmp_path / "new")
    reader, got = _read_fifo(fifo)
    with JsonlWriter(fifo) as w:
        w.write(RECORDS[0])
    reader.join(10)
    assert got == [(dumps_record(RECORDS[0]) + "\n").encode()]
    reader, got = _read_fifo(fifo)
    write_text_atomic(fifo, "{}\n")
    reader.join(10)
    assert got == [b"{}\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode) and [p.name for p in tmp_path.iterdir()] == ["pipe"]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_a_regular_file_reached_through_proc_or_dev_is_written_in_place(tmp_path: Path) -> None:
    # -o /dev/stdout with standard output redirected to a file: /dev/stdout leads to
    # that regular file, and renaming /dev/stdout.part over it replaced the link (as
    # root) with a new file while the redirect target stayed empty
    target = tmp_path / "redirected.jsonl"
    with open(target, "wb") as f:
        link = Path(f"/proc/self/fd/{f.fileno()}")
        assert is_special_file(link) and not is_special_file(target)
        if Path("/dev/shm").is_dir():  # a regular file there is no link: written through .part
            with open(f"/dev/shm/sieve-test-{os.getpid()}.jsonl", "w") as shm:
                assert not is_special_file(shm.name)
            os.unlink(shm.name)
        with JsonlWriter(link) as w:
            w.write(RECORDS[0])
        assert target.read_bytes() == (dumps_record(RECORDS[0]) + "\n").encode()
        write_text_atomic(link, "{}\n")  # appended, as the shell's >> asks, never truncated
        assert target.read_bytes() == (dumps_record(RECORDS[0]) + "\n{}\n").encode()
    assert [p.name for p in tmp_path.iterdir()] == ["redirected.jsonl"]


def test_dev_stdout_appended_by_the_shell_keeps_what_was_there(tmp_path: Path, data_dir: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text('{"keep": 1}\n')
    subprocess.run(f"{sys.executable} -m classifier score {data_dir / 'story.txt'} -o /dev/stdout >> {log}",
                   shell=True, check=True, capture_output=True)
    lines = log.read_text().splitlines()
    assert lines[0] == '{"keep": 1}' and json.loads(lines[1])["id"] == "story" and len(lines) == 2


def test_a_link_is_written_through_and_permissions_are_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.jsonl"
    real.write_text("old\n")
    os.chmod(real, 0o600)
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    with JsonlWriter(link) as w:
        w.write(RECORDS[0])
    assert link.is_symlink() and real.read_text() == dumps_record(RECORDS[0]) + "\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    write_text_atomic(link, "{}\n")
    assert link.is_symlink() and real.read_text() == "{}\n" and stat.S_IMODE(real.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.jsonl", "real.jsonl"]

def test_a_file_name_that_is_not_utf8_is_written_as_replacement_characters(tmp_path: Path) -> None:
    # os.fsdecode keeps such bytes as lone surrogates, which UTF-8 cannot encode:
    # writing an id or source that holds one failed (or put raw bytes on stdout)
    name = os.fsdecode(b"caf\xe9.txt")
    line = dumps_record({"id": name, "source": f"crawl/{name}"})
    assert json.loads(line) == {"id": "caf\ufffd.txt", "source": "crawl/caf\ufffd.txt"}
    out = tmp_path / "out.jsonl"
    with JsonlWriter(out) as w:
        w.write({"id": name})
    write_text_atomic(tmp_path / "report.json", json.dumps({"input": name}, ensure_ascii=False))
    assert json.loads(out.read_bytes().decode("utf-8")) == {"id": "caf\ufffd.txt"}
    assert json.loads((tmp_path / "report.json").read_bytes().decode("utf-8")) == {"input": "caf\ufffd.txt"}


def test_a_writer_that_cannot_finish_its_file_leaves_no_partial_file(tmp_path: Path) -> None:
    # a full disk shows when the last bytes go out at close (gzip keeps them until then):
    # the file size limit of a child process stands in for it (EFBIG instead of ENOSPC)
    script = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from classifier.writers import JsonlWriter\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))\n"
        "try:\n"
        "    with JsonlWriter(Path(sys.argv[1])) as w:\n"
        "        for i in range(1000):\n"
        "            w.write({'id': i, 'text': f'paragraph {i * 7919 % 10007} of the story {i * 31 % 97}'})\n"
        "except OSError as err:\n"
        "    print('failed', err.errno)\n"
    )
    out = tmp_path / "out.jsonl.gz"
    proc = subprocess.run([sys.executable, "-c", script, str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("failed"), proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # neither the output nor its .part


def test_a_file_is_on_disk_before_its_name_says_it_is_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The records (and the gzip trailer) are flushed to disk before the rename: a crash
    right after it must not leave a complete-looking name over missing data."""
    import classifier.writers as writers

    synced: list[tuple[str, int]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append((os.readlink(f"/proc/self/fd/{fd}"), os.fstat(fd).st_size))
        real_fsync(fd)

    monkeypatch.setattr(writers.os, "fsync", fsync)
    out = tmp_path / "out.jsonl.gz"
    with JsonlWriter(out) as w:
        for r in RECORDS:
            w.write(r)
    assert synced == [(str(out) + ".part", out.stat().st_size)]  # the whole file, trailer included
    with gzip.open(out, "rt", encoding="utf-8") as f:
        assert [json.loads(line) for line in f] == RECORDS


@pytest.mark.parametrize("name", ["out.jsonl", "out.jsonl.gz"])
@pytest.mark.parametrize("lazy", [False, True])
def test_a_stop_just_after_the_file_is_made_leaves_no_part_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 name: str, lazy: bool) -> None:
    # SIGTERM turned into an exception the instant after the .part file was created, in
    # __enter__: no __exit__ ran, and the unfinished file stayed (a flaky test of
    # `sieve score` stopped by SIGTERM; `sieve clean` opens its shards the same way)
    import classifier.writers as writers

    def stopped(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(writers.io, "TextIOWrapper", stopped)
    writer = JsonlWriter(tmp_path / name, lazy=lazy)
    with pytest.raises(KeyboardInterrupt):
        with writer:
            writer.write({"id": "a"})
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    with JsonlWriter(tmp_path / name, lazy=lazy) as again:  # the writer works as before
        again.write({"id": "b"})
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_a_part_file_that_was_there_is_kept_when_it_cannot_be_opened(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # another user's unfinished out.jsonl.part in a shared folder, which this run may not
    # write: the failed open() removed it (the cleanup after a stop took it for its own)
    import classifier.writers as writers

    theirs = tmp_path / "out.jsonl.part"
    theirs.write_text("their records\n")

    def refused(path: object, mode: str = "r", *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(writers, "open", refused, raising=False)
    with pytest.raises(PermissionError):
        with JsonlWriter(tmp_path / "out.jsonl"):
            pass
    assert theirs.read_text() == "their records\n"


@pytest.mark.parametrize("name", ["out.jsonl.GZ", "out.JSONL.Gz"])
def test_a_gzip_suffix_in_any_case_writes_gzip(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    with JsonlWriter(out) as w:
        for r in RECORDS:
            w.write(r)
    assert [json.loads(line) for line in gzip.decompress(out.read_bytes()).decode().splitlines()] == RECORDS


def test_a_zstd_suffix_in_any_case_writes_zstd(tmp_path: Path) -> None:
    import zstandard

    out = tmp_path / "out.jsonl.ZST"
    with JsonlWriter(out) as w:
        w.write(RECORDS[0])
    raw = zstandard.ZstdDecompressor().stream_reader(out.read_bytes()).read()
    assert json.loads(raw.decode()) == RECORDS[0]
