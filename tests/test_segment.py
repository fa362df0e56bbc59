import numpy as np
import pytest
import soundfile as sf

from speechtl.data.manifest import load_entry, read_manifest
from speechtl.model.loader import load_pretrained
from speechtl.segment import align, segment_recording, transcript_sentences

from .conftest import GAP, SR, on_grid

pytest.importorskip("ctc_segmentation")


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory, sample_waves, sample_entries):
    """Sentences 0 1 2 3 0 1 of the sample, with pauses, in one file; where each one truly is."""
    order = [0, 1, 2, 3, 0, 1]
    parts, truth, t = [], [], 0.0
    for i in order:
        parts.append(GAP)
        t += len(GAP) / SR
        wave = on_grid(sample_waves[i])
        parts.append(wave)
        truth.append((sample_entries[i].text, t, t + len(sample_waves[i]) / SR))
        t += len(wave) / SR
    parts.append(GAP)
    path = tmp_path_factory.mktemp("long") / "long.wav"
    sf.write(path, np.concatenate(parts), SR)
    return path, truth


def test_sentences_from_a_dialogue_transcript():
    text = "D: Hello there. How are you?\n\nP: Not great, doctor. My back hurts.\n"
    assert transcript_sentences(text) == ["Hello there.", "How are you?", "Not great, doctor.", "My back hurts."]


def test_aligned_segments_land_on_the_true_sentences(overfit_model, long_recording, tmp_path):
    path, truth = long_recording
    transcript = " ".join(text.capitalize() + "." for text, _, _ in truth)
    report = segment_recording(load_pretrained(overfit_model.best_dir), path, transcript, tmp_path)
    assert len(report.kept) == len(truth) and not report.dropped
    for seg, (text, start, end) in zip(report.kept, truth):
        assert seg.text == text
        # ctc-segmentation opens a segment up to 0.5 s before its first character (at most
        # halfway back to the previous one's last): a start falls in the pause before the
        # sentence or the last frames of the previous one, never late
        assert -0.5 < seg.start - start < 0.1 and abs(seg.end - end) < 0.35, (seg, start, end)
    entries = read_manifest(report.manifest)
    assert [e.text for e in entries] == [t for t, _, _ in truth]
    assert abs(len(load_entry(entries[1], SR)) / SR - entries[1].duration) < 0.01  # offset + duration cut


def test_a_sentence_that_was_never_spoken_is_dropped(overfit_model, long_recording):
    path, truth = long_recording
    sentences = [t for t, _, _ in truth[:3]] + ["objection your honor hearsay"] + [t for t, _, _ in truth[3:]]
    bundle = load_pretrained(overfit_model.best_dir)
    from speechtl.data.audio import load_audio

    segments = align(bundle, load_audio(path), sentences)
    impostor = segments[3]
    # the alignment may squeeze the impostor against the next sentence's start and lower
    # that one's score too; every sentence away from it keeps a far better score
    others = [s.confidence for i, s in enumerate(segments) if i not in (2, 3, 4)]
    assert impostor.confidence < min(others) - 2.0
    transcript = " ".join(s.capitalize() + "." for s in sentences)
    report = segment_recording(bundle, path, transcript, min_confidence=min(others) - 1.0)
    assert "objection your honor hearsay" in [s.text for s in report.dropped]
    assert len(report.kept) >= 4 and all(s.text != "objection your honor hearsay" for s in report.kept)
