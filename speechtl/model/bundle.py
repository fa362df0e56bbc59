"""A CTC model with what it takes to feed and read it: its alphabet, sample rate and
how many head rows it kept from its checkpoint (model/loader.py makes one)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..alphabet import Alphabet
from ..constants import SAMPLE_RATE
from .adapters import family_of
from .family import unwrap


@dataclass
class Bundle:
    """A CTC model with what it takes to feed and read it."""

    model: nn.Module
    alphabet: Alphabet
    sampling_rate: int = SAMPLE_RATE
    kept_rows: int = 0
    new_rows: int = 0

    @property
    def family(self) -> str:
        return family_of(self.model).name

    @property
    def frame_shift(self) -> float:
        """Seconds between two output frames (conv stride / sample rate)."""
        return family_of(self.model).frame_shift(unwrap(self.model), self.sampling_rate)

    @property
    def uses_attention_mask(self) -> bool:
        return family_of(self.model).uses_attention_mask(unwrap(self.model))

    @property
    def normalize_audio(self) -> bool:
        """Wav2Vec2 wants each waveform at zero mean and unit variance; Whisper's
        log-mel features want the raw signal."""
        return family_of(self.model).normalize_audio
