import numpy as np
import pytest
import torch

from speechtl.model.loader import load_pretrained
from speechtl.transcribe import Transcriber, to_json, to_srt

from .conftest import SR, join_clips


@pytest.fixture(scope="module")
def model(overfit_model):
    return load_pretrained(overfit_model.best_dir)


def test_long_audio_transcribes_to_the_concatenated_text(model, sample_waves, sample_entries):
    order = [0, 1, 2, 3, 0, 1, 2, 3, 0]  # ~30 s: far longer than one 4 s chunk
    wave = join_clips([sample_waves[i] for i in order])
    expected = " ".join(sample_entries[i].text for i in order)
    t = Transcriber(model, chunk_length_s=4.0, stride_length_s=1.0)
    assert len(t.plan(0, len(wave))) > 10
    hyp = t.transcribe_waveforms([wave])[0]
    assert hyp.text == expected
    starts = [w.start for w in hyp.words]
    assert starts == sorted(starts) and 0 <= hyp.words[0].start and hyp.words[-1].end <= len(wave) / SR


def test_chunked_equals_unchunked(model, sample_waves):
    wave = join_clips(sample_waves[:3])
    whole = Transcriber(model, chunk_length_s=60.0)
    chunked = Transcriber(model, chunk_length_s=3.0, stride_length_s=0.6, batch_size=3)
    a, b = whole.logits([wave])[0], chunked.logits([wave])[0]
    assert a.shape == b.shape
    assert np.abs(a - b).max() < 1e-3
    assert whole.transcribe_waveforms([wave])[0] == chunked.transcribe_waveforms([wave])[0]


def test_plan_covers_every_frame_once(model):
    t = Transcriber(model, chunk_length_s=2.0, stride_length_s=0.5)
    n = 7 * SR + 123
    pieces = t.plan(0, n)
    assert pieces[0].start == 0 and pieces[-1].stop == n
    for prev, nxt in zip(pieces, pieces[1:]):
        assert prev.keep_to == nxt.keep_from and nxt.start % t.hop_samples == 0


def test_batch_of_files_with_a_bad_one(model, pair_corpus, tmp_path):
    _, entries = pair_corpus
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF????WAVE")
    paths = [entries[0].audio_filepath, str(broken), str(tmp_path / "missing.wav"), entries[1].audio_filepath]
    results = list(Transcriber(model, batch_size=2).transcribe_files(paths))
    assert [r.path for r in results] == paths
    assert results[0].text == entries[0].text and results[3].text == entries[1].text
    assert "cannot read audio" in results[1].error and "file not found" in results[2].error


def test_json_and_srt(model, pair_corpus):
    _, entries = pair_corpus
    (result,) = Transcriber(model).transcribe_files([entries[0].audio_filepath])
    data = to_json(result)
    assert " ".join(w["word"] for w in data["words"]) == data["text"] == entries[0].text
    srt = to_srt(result, max_cue_length=1.5)
    blocks = srt.strip().split("\n\n")
    assert len(blocks) > 1 and blocks[0].startswith("1\n00:00:00,")
    assert " ".join(b.split("\n")[2] for b in blocks) == entries[0].text


def test_invalid_chunking(model):
    with pytest.raises(ValueError):
        Transcriber(model, chunk_length_s=2.0, stride_length_s=1.0)


def test_long_files_stream_with_the_same_result(model, sample_waves, sample_entries, tmp_path, monkeypatch):
    import soundfile as sf

    import speechtl.transcribe as transcribe

    order = [0, 1, 2, 3, 0, 1]
    wave = join_clips([sample_waves[i] for i in order])
    path = tmp_path / "long.wav"
    sf.write(path, wave, SR, subtype="FLOAT")
    t = Transcriber(model, chunk_length_s=4.0, stride_length_s=1.0)
    streamed, seconds = t.stream_logits(path)
    whole = t.logits([wave])[0]
    assert seconds == pytest.approx(len(wave) / SR) and streamed.shape == whole.shape
    assert np.abs(streamed - whole).max() < 1e-3
    monkeypatch.setattr(transcribe, "LONG_AUDIO_S", 5.0)
    (result,) = t.transcribe_files([path])
    assert result.text == " ".join(sample_entries[i].text for i in order)


def test_int8_stays_close_to_fp32(tiny_bundle, sample_waves):
    from speechtl.model.quantize import quantize_int8

    quantized = quantize_int8(tiny_bundle)
    layer = quantized.model.wav2vec2.encoder.layers[0].attention.q_proj
    assert "quantized" in type(layer).__module__  # int8 weights really are in place
    assert isinstance(tiny_bundle.model.wav2vec2.encoder.layers[0].attention.q_proj, torch.nn.Linear)  # a copy
    fp32 = Transcriber(tiny_bundle).logits([sample_waves[0]])[0]
    int8 = Transcriber(tiny_bundle, int8=True).logits([sample_waves[0]])[0]
    assert fp32.shape == int8.shape
    assert np.abs(np.exp(fp32) - np.exp(int8)).max() < 0.05  # probabilities within 5 points
    assert np.mean(fp32.argmax(-1) == int8.argmax(-1)) > 0.9


def test_transcriber_leaves_the_callers_bundle_as_it_was(tiny_bundle, sample_waves):
    import torch

    tiny_bundle.model.train()
    before = {k: v.clone() for k, v in tiny_bundle.model.state_dict().items()}
    transcriber = Transcriber(tiny_bundle, device="cpu", half=True)
    assert transcriber.bundle.model is not tiny_bundle.model and not transcriber.bundle.model.training
    assert tiny_bundle.model.training  # still in training mode
    after = tiny_bundle.model.state_dict()
    assert all(after[k].dtype == v.dtype and torch.equal(after[k], v) for k, v in before.items())
    tiny_bundle.model.eval()
    assert Transcriber(tiny_bundle, device="cpu").bundle.model is tiny_bundle.model  # nothing to change: no copy
