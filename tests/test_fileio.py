import os

import pytest

from speechtl.errors import SpeechtlError
from speechtl.fileio import atomic_dir, atomic_path, clean_stale_temps, read_text_file, recover_dir, write_json, write_text


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "out.txt"
    write_text(target, "old\n")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old\n" and os.listdir(tmp_path) == ["out.txt"]


def test_write_json_replaces_whole(tmp_path):
    write_json(tmp_path / "a.json", {"x": 1})
    write_json(tmp_path / "a.json", {"y": [1, 2]})
    assert (tmp_path / "a.json").read_text().replace(" ", "").replace("\n", "") == '{"y":[1,2]}'


def test_atomic_dir_swaps_a_folder_in_only_when_complete(tmp_path):
    target = tmp_path / "best"
    with atomic_dir(target) as tmp:
        (tmp / "w").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "w").write_text("2")
            raise RuntimeError("killed")
    assert (target / "w").read_text() == "1"
    clean_stale_temps(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["best"]
    assert recover_dir(target) is False  # nothing half-done to restore


def test_text_files_in_utf8_utf16_and_with_an_excel_bom(tmp_path):
    (tmp_path / "a.txt").write_bytes("caf\u00e9\n".encode("utf-16"))
    (tmp_path / "b.txt").write_bytes(b"\xef\xbb\xbfterm\n")
    assert read_text_file(tmp_path / "a.txt", "text") == "caf\u00e9\n"
    assert read_text_file(tmp_path / "b.txt", "text") == "term\n"
    (tmp_path / "c.txt").write_bytes(b"\xff\xfe\x00\xd8")  # a lone surrogate: not text
    with pytest.raises(SpeechtlError, match="c.txt"):
        read_text_file(tmp_path / "c.txt", "text")


def test_a_file_is_synced_before_it_is_renamed_into_place(tmp_path, monkeypatch):
    import os

    from speechtl.fileio import write_text

    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("rename"), real_replace(a, b))[1])
    write_text(tmp_path / "a.txt", "hello")
    assert events[:2] == ["fsync", "rename"] and (tmp_path / "a.txt").read_text() == "hello"


def test_stale_temporary_files_are_cleaned_but_a_live_writer_s_are_not(tmp_path):
    import os
    import time

    from speechtl.fileio import clean_stale_temps

    (tmp_path / "x").mkdir()
    old, fresh = tmp_path / "x" / ".a.txt.k3j.tmp", tmp_path / ".b.txt.z9.tmp"
    old.write_text("half")
    fresh.write_text("being written")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert clean_stale_temps(tmp_path, recursive=True, older_than_s=600) == 1
    assert not old.exists() and fresh.exists()
