"""Training examples and batches: one example type, one collate, for waveforms and
for cached hidden states alike.

    dataset = SpeechDataset(entries, alphabet, normalize=True)
    batch = collate([dataset[0], dataset[1]])   # {"inputs", "mask", "labels", "ids"}
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..alphabet import Alphabet
from ..errors import AudioError, SpeechtlError
from ..constants import SAMPLE_RATE
from .audio import normalize_waveform
from .manifest import ManifestEntry, load_entry

log = logging.getLogger(__name__)
LABEL_PAD = -100  # label padding the CTC loss ignores


@dataclass(frozen=True)
class Example:
    id: str
    inputs: np.ndarray  # a waveform (samples,) or cached hidden states (frames, dim)
    labels: list[int]


class SpeechDataset(Dataset):
    """Entries must be validated (normalized text). An audio file that fails to
    decode at training time yields None, is logged and noted in ``failed`` (in this
    process), and :func:`collate` skips it; with ``strict`` it is an error instead.
    ``normalize``: each waveform at zero mean and unit variance (Wav2Vec2)."""

    def __init__(self, entries: Sequence[ManifestEntry], alphabet: Alphabet,
                 sampling_rate: int = SAMPLE_RATE, normalize: bool = True, strict: bool = False) -> None:
        self.entries = list(entries)
        self.alphabet = alphabet
        self.sampling_rate = sampling_rate
        self.normalize = normalize
        self.strict = strict
        self.failed: set[str] = set()

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> Example | None:
        e = self.entries[index]
        try:
            wave = load_entry(e, self.sampling_rate)
        except AudioError as exc:
            if self.strict:
                raise SpeechtlError(f"{e.id}: {exc}") from None
            if e.id not in self.failed:
                log.warning("skipping %s: %s", e.id, exc)
                self.failed.add(e.id)
            return None
        return Example(e.id, normalize_waveform(wave) if self.normalize else wave, self.alphabet.encode(e.text))


def pad_sequences(arrays: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad arrays of shape (length, ...) with zeros into float32 (batch, longest, ...);
    return them with the (batch, longest) bool mask of real steps."""
    longest = max(len(a) for a in arrays)
    values = torch.zeros((len(arrays), longest) + tuple(arrays[0].shape[1:]))
    mask = torch.zeros(len(arrays), longest, dtype=torch.bool)
    for i, a in enumerate(arrays):
        values[i, : len(a)] = torch.from_numpy(np.asarray(a, dtype=np.float32))
        mask[i, : len(a)] = True
    return values, mask


def pad_waveforms(waves: Sequence[np.ndarray], normalize: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalize each waveform (unless done already), right-pad with zeros;
    return (values, attention_mask) as a model's forward takes them."""
    values, mask = pad_sequences([normalize_waveform(w) if normalize else w for w in waves])
    return values, mask.long()


def collate(examples: Sequence[Example | None]) -> dict[str, torch.Tensor | list[str]] | None:
    """Pad inputs (zeros) and labels (-100, ignored by the CTC loss); None when every
    example failed to load."""
    examples = [e for e in examples if e is not None]
    if not examples:
        return None
    inputs, mask = pad_sequences([e.inputs for e in examples])
    labels = torch.full((len(examples), max(len(e.labels) for e in examples)), LABEL_PAD, dtype=torch.long)
    for i, e in enumerate(examples):
        labels[i, : len(e.labels)] = torch.tensor(e.labels)
    return {"inputs": inputs, "mask": mask, "labels": labels, "ids": [e.id for e in examples]}
