import json

import pytest

from speechtl.data.manifest import ManifestEntry, read_manifest, validate, write_manifest
from speechtl.errors import ManifestError

from ..conftest import write_wav


def _manifest(tmp_path, rows):
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_relative_and_absolute_paths(tmp_path):
    write_wav(tmp_path / "a.wav")
    other = tmp_path / "elsewhere"
    other.mkdir()
    write_wav(other / "b.wav")
    path = _manifest(tmp_path, [
        {"audio_filepath": "a.wav", "duration": 1.0, "text": "Hello there"},
        {"audio_filepath": str(other / "b.wav"), "duration": 1.0, "text": "b", "speaker": 7, "offset": 0.5,
         "source": "kept"},
    ])
    a, b = read_manifest(path)
    assert a.audio_filepath == str(tmp_path / "a.wav") and a.id == "a"
    assert b.speaker == "7" and b.offset == 0.5 and b.extra == {"source": "kept"}


def test_duplicate_ids_are_made_unique(tmp_path):
    path = _manifest(tmp_path, [{"audio_filepath": "x.wav", "duration": 1, "text": "a"}] * 3)
    assert [e.id for e in read_manifest(path)] == ["x", "x-1", "x-2"]


@pytest.mark.parametrize("line,message", [
    ("{not json", "not valid JSON"),
    ('{"duration": 1, "text": "a"}', "missing field 'audio_filepath'"),
    ('{"audio_filepath": "a.wav", "duration": "long", "text": "a"}', "must be numbers"),
    ('[1, 2]', "JSON object"),
])
def test_malformed_lines_name_file_and_line(tmp_path, line, message):
    path = _manifest(tmp_path, ['{"audio_filepath": "a.wav", "duration": 1, "text": "ok"}', line])
    with pytest.raises(ManifestError, match=rf"m.jsonl:2: .*{message}"):
        read_manifest(path)


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError, match="manifest not found"):
        read_manifest(tmp_path / "none.jsonl")


def test_validate_drops_and_counts_each_problem(tmp_path, alphabet):
    write_wav(tmp_path / "good.wav")
    (tmp_path / "corrupt.wav").write_bytes(b"not audio at all")
    path = _manifest(tmp_path, [
        {"id": "good", "audio_filepath": "good.wav", "duration": 1.0, "text": "Dr. Who, 2 mg"},
        {"id": "missing", "audio_filepath": "gone.wav", "duration": 1.0, "text": "x"},
        {"id": "corrupt", "audio_filepath": "corrupt.wav", "duration": 1.0, "text": "x"},
        {"id": "zero", "audio_filepath": "good.wav", "duration": 0, "text": "x"},
        {"id": "empty-text", "audio_filepath": "good.wav", "duration": 1.0, "text": " ?! "},
        {"id": "foreign", "audio_filepath": "good.wav", "duration": 1.0, "text": "hello 世界"},
        {"id": "offset", "audio_filepath": "good.wav", "duration": 1.0, "offset": 5.0, "text": "x"},
    ])
    report = validate(read_manifest(path), alphabet, on_error="drop")
    assert [e.id for e in report.kept] == ["good"]
    assert report.kept[0].text == "doctor who two milligrams"  # kept text is normalized
    reasons = {r.id: r.reason for r in report.rejected}
    assert "file not found" in reasons["missing"]
    assert "cannot read audio" in reasons["corrupt"]
    assert "not positive" in reasons["zero"]
    assert reasons["empty-text"] == "empty transcript"
    assert "outside the alphabet" in reasons["foreign"] and "世" in reasons["foreign"]
    assert "past the end" in reasons["offset"]
    assert report.summary() == "kept 1 utterances, dropped 6"


def test_validate_fail_mode(tmp_path, alphabet):
    entries = [ManifestEntry("u1", str(tmp_path / "gone.wav"), 1.0, "text")]
    with pytest.raises(ManifestError, match="u1.*file not found"):
        validate(entries, alphabet, on_error="fail")


def test_write_then_read_roundtrip(tmp_path):
    write_wav(tmp_path / "a.wav")
    entries = [ManifestEntry("a", str(tmp_path / "a.wav"), 1.0, "hi", speaker="s", extra={"source": "x"})]
    write_manifest(tmp_path / "out.jsonl", entries)
    row = json.loads((tmp_path / "out.jsonl").read_text())
    assert row["audio_filepath"] == "a.wav"  # relative to the manifest's folder
    assert read_manifest(tmp_path / "out.jsonl") == entries
