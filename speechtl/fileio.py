"""Atomic file writes: a reader never sees half a file, a crash never leaves one.

Each helper writes to a temporary sibling, syncs it to disk and renames it into place;
rename is atomic on POSIX file systems as long as both live in the same directory, and
the sync makes sure that a power cut after the rename finds the new contents, not an
empty file. Finished files get the usual permissions (0666 less the umask).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_text_file(path: str | os.PathLike[str], what: str) -> str:
    """A UTF-8 text file (an Excel byte-order mark is dropped), or UTF-16 with its byte-order
    mark (what Windows Notepad saves as "Unicode"); another encoding is a named error."""
    from .errors import SpeechtlError

    data = Path(path).read_bytes()
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16").replace("\r\n", "\n")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpeechtlError(f"{path}: the {what} file is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None


def read_json(path: str | os.PathLike[str], what: str) -> Any:
    """A JSON file's value, or a named error saying which file is damaged and how."""
    from .errors import SpeechtlError

    text = read_text_file(path, what)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise SpeechtlError(f"{path}: the {what} file is not valid JSON ({getattr(exc, 'msg', exc)}, line "
                            f"{getattr(exc, 'lineno', '?')}); restore it or write it again") from None


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it over ``path`` on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes 0600; a finished file gets what open() would give it (0666 less the umask),
    # or keeps the mode of the file it replaces
    os.chmod(tmp_path, stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o666 & ~_umask())
    try:
        yield tmp_path
        _fsync(tmp_path)
        os.replace(tmp_path, target)
        _fsync(target.parent)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


@contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh temporary directory; on success it replaces ``path`` whole.

    The old directory (if any) is moved aside first and removed only after the
    new one is in place, so at every moment one complete version exists.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_dir(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
    try:
        yield tmp
        _settle(tmp)
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(target, old)
        os.replace(tmp, target)
        _fsync(target.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _fsync(path: Path) -> None:
    """Flush a file's (or a folder's entries') data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # a file system without fsync for folders
    finally:
        os.close(fd)


def _settle(folder: Path) -> None:
    """Before a folder is renamed into place: every file in it synced and given the usual
    permissions (libraries that write through temporary files leave them 0600)."""
    mask = _umask()
    file_mode, dir_mode = 0o666 & ~mask, 0o777 & ~mask
    for root, dirs, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            os.chmod(path, file_mode)
            _fsync(path)
        for name in dirs:
            os.chmod(Path(root) / name, dir_mode)
        _fsync(Path(root))


def recover_dir(path: str | os.PathLike[str]) -> bool:
    """Finish a replacement that a crash interrupted between atomic_dir's two renames:
    the old version moved aside, the new one not yet in place. True if it restored one."""
    target = Path(path)
    old = target.with_name(f".{target.name}.old")
    if not target.exists() and old.is_dir():
        os.replace(old, target)
        return True
    return False


def clean_stale_temps(folder: str | os.PathLike[str], name: str = "*", recursive: bool = False,
                      older_than_s: float = 0.0) -> int:
    """Remove temporary files and folders that interrupted atomic writes of ``name`` (any
    by default) left in ``folder`` (and below it, with ``recursive``). ``older_than_s``:
    only those untouched that long, where another process may be writing there now."""
    removed = 0
    if not Path(folder).is_dir():
        return 0
    pattern = f".{name}.*.tmp" if name != "*" else ".*.tmp"
    now = time.time()
    for tmp in list(Path(folder).rglob(pattern) if recursive else Path(folder).glob(pattern)):
        try:
            if older_than_s and now - tmp.stat().st_mtime < older_than_s:
                continue
        except FileNotFoundError:
            continue
        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        removed += 1
    return removed
