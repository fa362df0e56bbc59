import numpy as np
import pytest
import torch

from speechtl.model.chunked import AcousticModel
from speechtl.model.loader import load_pretrained

from ..conftest import SR, join_clips


@pytest.fixture(scope="module")
def model(overfit_model):
    return load_pretrained(overfit_model.best_dir)


def test_chunked_equals_unchunked(model, sample_waves):
    wave = join_clips(sample_waves[:3])
    whole = AcousticModel(model, chunk_length_s=60.0)
    chunked = AcousticModel(model, chunk_length_s=3.0, stride_length_s=0.6, batch_size=3)
    assert len(chunked.plan(0, len(wave))) > 3
    a, b = whole.logits([wave])[0], chunked.logits([wave])[0]
    assert a.shape == b.shape
    assert np.abs(a - b).max() < 1e-3
    assert (a.argmax(-1) == b.argmax(-1)).all()


def test_plan_covers_every_frame_once(model):
    acoustic = AcousticModel(model, chunk_length_s=2.0, stride_length_s=0.5)
    n = 7 * SR + 123
    pieces = acoustic.plan(0, n)
    assert pieces[0].start == 0 and pieces[-1].stop == n
    for prev, nxt in zip(pieces, pieces[1:]):
        assert prev.keep_to == nxt.keep_from and nxt.start % acoustic.hop_samples == 0


def test_invalid_chunking(model):
    with pytest.raises(ValueError):
        AcousticModel(model, chunk_length_s=2.0, stride_length_s=1.0)


def test_a_long_file_streams_with_the_same_result(model, sample_waves, tmp_path):
    import soundfile as sf

    wave = join_clips([sample_waves[i] for i in [0, 1, 2, 3, 0, 1]])
    path = tmp_path / "long.wav"
    sf.write(path, wave, SR, subtype="FLOAT")
    acoustic = AcousticModel(model, chunk_length_s=4.0, stride_length_s=1.0)
    streamed, seconds = acoustic.stream_logits(path)
    whole = acoustic.logits([wave])[0]
    assert seconds == pytest.approx(len(wave) / SR) and streamed.shape == whole.shape
    assert np.abs(streamed - whole).max() < 1e-3


def test_int8_stays_close_to_fp32(tiny_bundle, sample_waves):
    from speechtl.model.quantize import quantize_int8

    quantized = quantize_int8(tiny_bundle)
    layer = quantized.model.wav2vec2.encoder.layers[0].attention.q_proj
    assert "quantized" in type(layer).__module__  # int8 weights really are in place
    assert isinstance(tiny_bundle.model.wav2vec2.encoder.layers[0].attention.q_proj, torch.nn.Linear)  # a copy
    fp32 = AcousticModel(tiny_bundle).logits([sample_waves[0]])[0]
    int8 = AcousticModel(tiny_bundle, int8=True).logits([sample_waves[0]])[0]
    assert fp32.shape == int8.shape
    assert np.abs(np.exp(fp32) - np.exp(int8)).max() < 0.05  # probabilities within 5 points
    assert np.mean(fp32.argmax(-1) == int8.argmax(-1)) > 0.9


def test_the_callers_bundle_is_left_as_it_was(tiny_bundle):
    tiny_bundle.model.train()
    before = {k: v.clone() for k, v in tiny_bundle.model.state_dict().items()}
    acoustic = AcousticModel(tiny_bundle, device="cpu", half=True)
    assert acoustic.bundle.model is not tiny_bundle.model and not acoustic.bundle.model.training
    assert tiny_bundle.model.training  # still in training mode
    after = tiny_bundle.model.state_dict()
    assert all(after[k].dtype == v.dtype and torch.equal(after[k], v) for k, v in before.items())
    tiny_bundle.model.eval()
    assert AcousticModel(tiny_bundle, device="cpu").bundle.model is tiny_bundle.model  # nothing to change: no copy
