"""What kind of CTC model this is, seen through any wrapper: the one place that asks."""

from __future__ import annotations

from torch import nn

WHISPER = "whisper"  # config.model_type of speechtl's Whisper-encoder CTC models


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel (or any ``.module``) wrapper."""
    return model.module if isinstance(getattr(model, "module", None), nn.Module) else model


def is_whisper(model: nn.Module) -> bool:
    return getattr(unwrap(model).config, "model_type", None) == WHISPER
