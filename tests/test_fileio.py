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
