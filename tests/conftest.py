"""Shared fixtures. Nothing here touches the network: models are built from configs."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a test must never reach for the hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

from speechtl.alphabet import Alphabet  # noqa: E402
from speechtl.data.audio import load_audio  # noqa: E402
from speechtl.data.manifest import ManifestEntry, read_manifest, validate, write_manifest  # noqa: E402
from speechtl.model.freeze import FreezePolicy  # noqa: E402

SAMPLE_MANIFEST = Path(__file__).parents[1] / "speechtl" / "samples" / "manifest.jsonl"
SHARED = Path(__file__).parents[2] / "shared"
SR = 16_000
HOP = 320  # samples per output frame of the Wav2Vec2 conv stack
GAP = np.zeros(13 * HOP, np.float32)  # 0.26 s of silence between clips
# A random model has nothing worth keeping: everything trains, fast.
OVERFIT_STEPS = 200  # near-zero CER from step 175 with this shape (16 conv channels, 128 wide)
LEARN_ALL = FreezePolicy(freeze_feature_encoder=False, trainable_layers="all", train_feature_projection=True,
                         lr_head=5e-3, lr_layers=5e-3)


def on_grid(w: np.ndarray) -> np.ndarray:
    """Pad to whole frames: a tiny overfit conv stack is not shift-invariant
    off its own frame grid, a pretrained one is."""
    return np.pad(w, (0, (-len(w)) % HOP))


def join_clips(waves: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([part for w in waves for part in (GAP, on_grid(w))] + [GAP])


@pytest.fixture(scope="session")
def alphabet() -> Alphabet:
    return Alphabet.default()


@pytest.fixture(scope="session")
def sample_entries(alphabet):
    return validate(read_manifest(SAMPLE_MANIFEST), alphabet, on_error="fail").kept


@pytest.fixture(scope="session")
def sample_waves(sample_entries):
    return [load_audio(e.audio_filepath) for e in sample_entries]


@pytest.fixture(scope="session")
def pair_corpus(tmp_path_factory, sample_entries, sample_waves):
    """Four clips, each two sample sentences with pauses: (0,1) (1,2) (2,3) (3,0).

    Training on pairs teaches the pause between sentences to be a word boundary,
    so any longer concatenation of these sentences is decodable."""
    root = tmp_path_factory.mktemp("pairs")
    entries = []
    for i in range(4):
        ids = [i, (i + 1) % 4]
        wave = join_clips([sample_waves[j] for j in ids])
        path = root / f"pair-{i}.wav"
        sf.write(path, wave, SR)
        entries.append(ManifestEntry(f"pair-{i}", str(path), len(wave) / SR,
                                     " ".join(sample_entries[j].text for j in ids)))
    write_manifest(root / "manifest.jsonl", entries)
    return root / "manifest.jsonl", entries


@pytest.fixture(scope="session")
def overfit_model(tmp_path_factory, pair_corpus, alphabet):
    """A tiny random model trained until it knows the pair corpus (~30 s on 2 cores)."""
    from speechtl.model.tiny import random_wav2vec2
    from speechtl.training import TrainConfig, train

    _, entries = pair_corpus
    out = tmp_path_factory.mktemp("overfit")
    bundle = random_wav2vec2(alphabet, num_hidden_layers=0, conv_dim=(16,) * 7, hidden_size=128)
    config = TrainConfig(output_dir=str(out), max_steps=OVERFIT_STEPS, batch_size=4, warmup_steps=20, eval_every=50,
                         patience=0, mask_time_prob=0.0, progress=False, freeze=LEARN_ALL)
    result = train(bundle, entries, entries, config)
    return result


@pytest.fixture
def tiny_bundle(alphabet):
    from speechtl.model.tiny import random_wav2vec2

    return random_wav2vec2(alphabet)


def write_wav(path: Path, seconds: float = 1.0, channels: int = 1, rate: int = SR, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    data = (0.1 * rng.standard_normal((int(seconds * rate), channels))).astype(np.float32)
    sf.write(path, data if channels > 1 else data[:, 0], rate)
    return path
