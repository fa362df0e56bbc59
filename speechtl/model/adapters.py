"""Which family adapter a model needs: the one place that looks at the model's type."""

from __future__ import annotations

from torch import nn

from .family import WHISPER, Family, unwrap
from .wav2vec2_family import WAV2VEC2


def family_of(model: nn.Module) -> Family:
    """The adapter for ``model`` (seen through any DDP wrapper). Whisper's is imported
    only for a Whisper model (transformers' Whisper modules take seconds to import)."""
    if getattr(unwrap(model).config, "model_type", None) == WHISPER:
        from .whisper_family import WHISPER_CTC

        return WHISPER_CTC
    return WAV2VEC2
