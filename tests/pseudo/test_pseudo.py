"""Pseudo-labelling: cutting at pauses, filtering, resuming, and a missing teacher."""

import json
import sys

import numpy as np
import pytest
import soundfile as sf

from speechtl.errors import SpeechtlError
from speechtl.pseudo.filter import Label, rejection
from speechtl.pseudo.teacher import require_faster_whisper
from speechtl.text import compression_ratio

try:
    import faster_whisper  # noqa: F401
except ImportError:
    faster_whisper = None
needs_vad = pytest.mark.skipif(faster_whisper is None, reason="faster-whisper (speechtl[teacher]) not installed")
GAP_S = 1.0


def _label(text, logprob=-0.3, no_speech=0.05):
    return Label(text, logprob, no_speech, compression_ratio(text))


def test_planted_bad_labels_are_dropped_with_their_reason(alphabet):
    good = _label("the patient takes metformin twice a day")
    assert rejection(good, 2.5, alphabet) is None
    loop = _label("thank you " * 30)
    cases = {
        "empty": (_label(""), 2.0),
        "repetition": (loop, len("thank you " * 30) / 15),  # a plausible rate: only the loop gives it away
        "characters per second": (good, 0.5),  # 39 characters in half a second: not what was said
        "log-probability": (_label(good.text, logprob=-1.8), 2.5),
        "no-speech": (_label(good.text, no_speech=0.9), 2.5),
        "outside the alphabet": (_label("the patient takes \u4f60\u597d"), 2.0),
    }
    for expected, (label, seconds) in cases.items():
        reason = rejection(label, seconds, alphabet)
        assert reason is not None and expected in reason, (expected, reason)
    assert "disagree" in rejection(good, 2.5, alphabet, second=_label("a completely different sentence here"))
    assert rejection(good, 2.5, alphabet, second=_label("the patient takes metformin twice a day")) is None


def _joined(sample_waves, count=4):
    gap = np.zeros(int(GAP_S * 16_000), np.float32)
    joined = np.concatenate([x for w in sample_waves[:count] for x in (w, gap)])
    starts = np.cumsum([0] + [len(w) + len(gap) for w in sample_waves[:count - 1]]) / 16_000
    return joined, starts


@needs_vad
def test_a_concatenation_is_cut_near_its_joins(sample_waves):
    from speechtl.data.vad import speech_segments

    joined, starts = _joined(sample_waves)
    segments = speech_segments(joined)
    assert len(segments) == len(starts)
    for seg, start, wave in zip(segments, starts, sample_waves):
        assert abs(seg.start_s - start) < 0.5 and abs(seg.end_s - (start + len(wave) / 16_000)) < 0.5


class CountingTeacher:
    name = "fake"

    def __init__(self):
        self.calls = 0

    def label(self, wave):
        self.calls += 1
        return _label("the patient takes metformin") if self.calls % 2 else _label("no no no " * 20)


@needs_vad
def test_resume_labels_nothing_twice_and_the_manifest_holds_every_run(tmp_path, sample_waves):
    from speechtl.data.manifest import read_manifest
    from speechtl.pseudo import pseudo_label

    joined, _ = _joined(sample_waves, 2)
    for name, gain in (("a", 1.0), ("b", 0.9)):
        sf.write(tmp_path / f"{name}.wav", gain * joined, 16_000)
    (tmp_path / "broken.wav").write_bytes(b"RIFF nothing")
    teacher = CountingTeacher()
    first = pseudo_label([tmp_path / "a.wav", tmp_path / "broken.wav"], tmp_path / "out", teacher, progress=False)
    assert (first.labelled, first.done_before, len(first.failed), teacher.calls) == (1, 0, 1, 2)
    assert (first.kept, first.rejected) == (1, 1)
    second = pseudo_label([tmp_path / "a.wav", tmp_path / "b.wav"], tmp_path / "out", teacher, progress=False)
    assert (second.labelled, second.done_before, teacher.calls) == (1, 1, 4)  # only b.wav is new
    entries = read_manifest(tmp_path / "out" / "manifest.jsonl")
    assert len(entries) == 2 and len({e.id for e in entries}) == 2
    assert all(e.offset is not None and e.text == "the patient takes metformin" for e in entries)
    rejected = [json.loads(line) for line in open(tmp_path / "out" / "rejected.jsonl")]
    assert len(rejected) == 2 and all("repetition" in r["reason"] for r in rejected)


@needs_vad
def test_a_touched_or_renamed_recording_is_not_labelled_again(tmp_path, sample_waves):
    import os

    from speechtl.data.manifest import read_manifest
    from speechtl.pseudo import pseudo_label

    joined, _ = _joined(sample_waves, 2)
    sf.write(tmp_path / "a.wav", joined, 16_000)
    teacher = CountingTeacher()
    pseudo_label([tmp_path / "a.wav"], tmp_path / "out", teacher, progress=False)
    os.utime(tmp_path / "a.wav", (1, 1))
    (tmp_path / "a.wav").rename(tmp_path / "renamed.wav")
    again = pseudo_label([tmp_path / "renamed.wav"], tmp_path / "out", teacher, progress=False)
    assert (again.labelled, again.done_before, teacher.calls) == (0, 1, 2)
    entries = read_manifest(tmp_path / "out" / "manifest.jsonl")
    assert len(entries) == 1 and entries[0].audio_filepath == str((tmp_path / "renamed.wav").resolve())


@needs_vad
def test_a_rerun_with_another_teacher_or_terms_is_refused(tmp_path, sample_waves):
    from speechtl.pseudo import pseudo_label

    joined, _ = _joined(sample_waves, 2)
    sf.write(tmp_path / "a.wav", joined, 16_000)
    pseudo_label([tmp_path / "a.wav"], tmp_path / "out", CountingTeacher(), progress=False)
    other = CountingTeacher()
    other.name = "whisper-base"
    with pytest.raises(SpeechtlError, match="another teacher"):
        pseudo_label([tmp_path / "a.wav"], tmp_path / "out", other, progress=False)
    prompted = CountingTeacher()
    prompted.settings = {"hotwords": "metformin"}
    with pytest.raises(SpeechtlError, match="another teacher_settings"):
        pseudo_label([tmp_path / "a.wav"], tmp_path / "out", prompted, progress=False)
    assert other.calls == prompted.calls == 0


def test_a_missing_teacher_extra_is_a_clear_message(monkeypatch, tmp_path, capsys):
    from speechtl.cli import main

    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # import fails as if not installed
    with pytest.raises(SpeechtlError, match=r"speechtl\[teacher\]"):
        require_faster_whisper()
    sf.write(tmp_path / "x.wav", np.zeros(16_000, np.float32), 16_000)
    assert main(["pseudo-label", str(tmp_path / "x.wav"), "--output-dir", str(tmp_path / "out")]) == 2
    assert "pip install 'speechtl[teacher]'" in capsys.readouterr().err


def test_missing_inputs_are_named_not_ignored(tmp_path, capsys):
    from speechtl.cli import main

    assert main(["pseudo-label", str(tmp_path / "nope.wav"), "--output-dir", str(tmp_path / "out")]) == 2
    assert "nope.wav: no such file or folder" in capsys.readouterr().err
