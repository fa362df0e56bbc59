"""What differs between backbone families, in one adapter per family.

    family = family_of(model)        # model/adapters.py: Wav2Vec2Family or WhisperFamily
    family.blocks(model)             # freezable blocks, in order
    hidden, frames = family.prefix(model, values, mask, k)   # the frozen bottom (model/split.py)

Callers ask the adapter instead of testing the model's type, so adding a family is
one new adapter (model/wav2vec2_family.py, model/whisper_family.py) and a line in
:func:`~speechtl.model.adapters.family_of`.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import nn

WHISPER = "whisper"  # config.model_type of speechtl's Whisper-encoder CTC models


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel (or any ``.module``) wrapper."""
    return model.module if isinstance(getattr(model, "module", None), nn.Module) else model


class Family(Protocol):
    name: str  # "wav2vec2" or "whisper-ctc", as saved in speechtl.json
    normalize_audio: bool  # inputs at zero mean and unit variance (Whisper's log-mel wants the raw signal)
    vocab_size_field: str  # the config field that holds the CTC head's size
    shortest_input: int  # samples below which the model's front end cannot run (beyond its output-length rule)

    def frame_shift(self, model: nn.Module, sampling_rate: int) -> float:
        """Seconds between two output frames."""

    def uses_attention_mask(self, model: nn.Module) -> bool: ...

    def blocks(self, model: nn.Module) -> dict[str, list[nn.Module]]:
        """Name -> modules of each freezable block: feature_encoder, feature_projection,
        positional, layers.0..N-1, [final_layer_norm], head."""

    def encoder_layers(self, model: nn.Module) -> nn.ModuleList: ...

    def prefix(self, model: nn.Module, input_values: torch.Tensor, attention_mask: torch.Tensor | None,
               k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden states entering layer ``k`` and the frame mask."""

    def suffix(self, model: nn.Module, hidden: torch.Tensor, frames: torch.Tensor, k: int) -> torch.Tensor:
        """Logits from the hidden states entering layer ``k``."""

    def mask_vector(self, model: nn.Module) -> torch.Tensor | None:
        """The learned vector SpecAugment puts in masked time spans (None: zeros)."""

    def configure_training(self, model: nn.Module, layerdrop: float) -> None:
        """The family's own training settings, after the shared masking ones are set."""

    def freeze_feature_encoder(self, model: nn.Module) -> None: ...

    def save_processor(self, model: nn.Module, folder: Any, sampling_rate: int, attention_mask: bool) -> None:
        """What transformers needs beside the weights to load the folder as a processor."""


class ParamHolder(nn.Module):
    """Wraps a bare nn.Parameter so blocks are uniformly lists of modules."""

    def __init__(self, param: nn.Parameter) -> None:
        super().__init__()
        self.param = param
