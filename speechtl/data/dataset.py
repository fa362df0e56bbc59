"""The training dataset: manifest entries -> (normalized waveform, label ids)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..alphabet import Alphabet
from ..errors import AudioError
from .audio import DEFAULT_SAMPLING_RATE, normalize_waveform
from .manifest import ManifestEntry, load_entry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Example:
    id: str
    waveform: np.ndarray
    labels: list[int]


class SpeechDataset(Dataset):
    """Entries must be validated (normalized text). An audio file that fails to
    decode at training time yields None, is logged, and the collator skips it."""

    def __init__(self, entries: Sequence[ManifestEntry], alphabet: Alphabet,
                 sampling_rate: int = DEFAULT_SAMPLING_RATE) -> None:
        self.entries = list(entries)
        self.alphabet = alphabet
        self.sampling_rate = sampling_rate

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> Example | None:
        e = self.entries[index]
        try:
            wave = load_entry(e, self.sampling_rate)
        except AudioError as exc:
            log.warning("skipping %s: %s", e.id, exc)
            return None
        return Example(e.id, wave, self.alphabet.encode(e.text))


def pad_waveforms(waves: Sequence[np.ndarray], normalize: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalize each waveform (unless done already), right-pad with zeros;
    return (values, attention_mask)."""
    longest = max(len(w) for w in waves)
    values = torch.zeros(len(waves), longest)
    mask = torch.zeros(len(waves), longest, dtype=torch.long)
    for i, w in enumerate(waves):
        values[i, : len(w)] = torch.from_numpy(normalize_waveform(w) if normalize else np.asarray(w, np.float32))
        mask[i, : len(w)] = 1
    return values, mask


def collate(examples: Sequence[Example | None], normalize: bool = True) -> dict[str, torch.Tensor | list[str]] | None:
    """Pad waveforms (zeros) and labels (-100, ignored by the CTC loss)."""
    examples = [e for e in examples if e is not None]
    if not examples:
        return None
    values, mask = pad_waveforms([e.waveform for e in examples], normalize)
    labels = torch.full((len(examples), max(len(e.labels) for e in examples)), -100, dtype=torch.long)
    for i, e in enumerate(examples):
        labels[i, : len(e.labels)] = torch.tensor(e.labels)
    return {"input_values": values, "attention_mask": mask, "labels": labels, "ids": [e.id for e in examples]}
