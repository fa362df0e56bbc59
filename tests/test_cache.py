"""speechtl.cache: an asset is built once, by one process, while the others wait for it."""

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from speechtl.cache import cache_root, file_lock, prepare_once

PROCESSES = 6


def _slow_build(args: tuple[str, str]) -> str:
    """Assemble ``target`` slowly, counting builds in ``log``: a race shows as two builds
    or as a torn file."""
    target, log = args

    def build(tmp: Path) -> None:
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        with open(tmp, "wb") as out:
            for i in range(20):
                out.write(bytes([i]) * 1000)
                time.sleep(0.005)

    return str(prepare_once(target, build))


def test_processes_assembling_one_asset_at_once_all_get_one_whole_file(tmp_path):
    target, log = tmp_path / "cache" / "model.bin", tmp_path / "builds.log"
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        paths = pool.map(_slow_build, [(str(target), str(log))] * PROCESSES)
    assert paths == [str(target)] * PROCESSES
    assert target.read_bytes() == b"".join(bytes([i]) * 1000 for i in range(20))
    assert len(log.read_text().split()) == 1  # built once; the others waited, then found it
    assert sorted(p.name for p in target.parent.iterdir()) == [".model.bin.lock", "model.bin"]  # no temporaries


def test_a_failed_build_leaves_nothing_and_the_next_one_builds(tmp_path):
    target = tmp_path / "asset"

    def broken(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        prepare_once(target, broken)
    assert not target.exists() and not list(tmp_path.glob(".asset.*.tmp"))
    assert prepare_once(target, lambda tmp: tmp.write_bytes(b"whole")).read_bytes() == b"whole"


def test_the_lock_is_exclusive_between_processes(tmp_path):
    lock = tmp_path / "x.lock"
    ctx = multiprocessing.get_context("spawn")
    with file_lock(lock):
        child = ctx.Process(target=_hold, args=(str(lock), str(tmp_path / "got")))
        child.start()
        time.sleep(0.5)
        assert not (tmp_path / "got").exists()  # still waiting for us
    child.join(10)
    assert (tmp_path / "got").exists() and child.exitcode == 0


def _hold(lock: str, flag: str) -> None:
    with file_lock(lock):
        Path(flag).touch()


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("SPEECHTL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "speechtl"
    monkeypatch.setenv("XDG_CACHE_HOME", "")  # empty counts as unset (XDG spec)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "speechtl"
    monkeypatch.setenv("SPEECHTL_CACHE", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"
