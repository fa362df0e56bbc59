"""A CTC model with what it takes to feed and read it: its alphabet, sample rate and
how many head rows it kept from its checkpoint (model/loader.py makes one)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from ..alphabet import Alphabet
from ..constants import SAMPLE_RATE
from .family import is_whisper


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
        return "whisper-ctc" if is_whisper(self.model) else "wav2vec2"

    @property
    def frame_shift(self) -> float:
        """Seconds between two output frames (conv stride / sample rate)."""
        if is_whisper(self.model):
            from .whisper import SAMPLES_PER_OUTPUT_FRAME

            return SAMPLES_PER_OUTPUT_FRAME / self.sampling_rate
        return math.prod(self.model.config.conv_stride) / self.sampling_rate

    @property
    def uses_attention_mask(self) -> bool:
        # Checkpoints with group-norm feature encoders (wav2vec2-base) were trained
        # without an attention mask; Hugging Face advises not passing one to them.
        return is_whisper(self.model) or getattr(self.model.config, "feat_extract_norm", "layer") == "layer"

    @property
    def normalize_audio(self) -> bool:
        """Wav2Vec2 wants each waveform at zero mean and unit variance; Whisper's
        log-mel features want the raw signal."""
        return not is_whisper(self.model)
