import numpy as np
import soundfile as sf
import torch

from speechtl.data.dataset import LABEL_PAD, Example, SpeechDataset, collate, pad_waveforms
from speechtl.data.manifest import ManifestEntry


def test_collate_pads_waveforms_and_labels_and_marks_real_steps():
    batch = collate([Example("a", np.ones(5, np.float32), [1, 2, 3]), None, Example("b", np.ones(3, np.float32), [4])])
    assert batch["ids"] == ["a", "b"]  # the example that failed to load is skipped
    assert batch["inputs"].shape == (2, 5) and batch["inputs"][1, 3:].eq(0).all()
    assert batch["mask"].tolist() == [[True] * 5, [True] * 3 + [False] * 2]
    assert batch["labels"].tolist() == [[1, 2, 3], [4, LABEL_PAD, LABEL_PAD]]
    assert collate([None, None]) is None


def test_collate_takes_cached_hidden_states_too():
    batch = collate([Example("a", np.ones((4, 2), np.float16), [1]), Example("b", np.ones((2, 2), np.float16), [2])])
    assert batch["inputs"].shape == (2, 4, 2) and batch["inputs"].dtype == torch.float32
    assert batch["mask"].sum(1).tolist() == [4, 2] and batch["inputs"][1, 2:].eq(0).all()


def test_pad_waveforms_normalizes_each_wave_on_its_own():
    values, mask = pad_waveforms([np.full(4, 3.0, np.float32) + np.arange(4), np.arange(2, dtype=np.float32)])
    assert mask.dtype == torch.long and mask.tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert abs(float(values[0].mean())) < 1e-5 and abs(float(values[1, :2].mean())) < 1e-5


def test_dataset_normalizes_when_asked_and_yields_none_for_broken_audio(tmp_path, alphabet):
    good = tmp_path / "good.wav"
    sf.write(good, (0.1 * np.sin(np.arange(1600) / 5) + 0.5).astype(np.float32), 16_000)
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    entries = [ManifestEntry("g", str(good), 0.1, "hi"), ManifestEntry("b", str(tmp_path / "bad.wav"), 0.1, "hi")]
    raw, normalized = SpeechDataset(entries, alphabet, normalize=False), SpeechDataset(entries, alphabet)
    assert raw[0].inputs.mean() > 0.4 and abs(normalized[0].inputs.mean()) < 1e-4
    assert normalized[0].labels == alphabet.encode("hi")
    assert raw[1] is None
