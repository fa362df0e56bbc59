"""A CTC model cut in two at the first trainable layer: a frozen prefix, a trainable suffix.

    k = first_trainable_layer(model)          # after FreezePolicy.apply
    hidden, frames = prefix(model, values, attention_mask, k)
    logits = suffix(model, hidden, frames, k)  # == model(values).logits in eval mode

The prefix is everything below layer ``k`` (feature encoder, projection, positions,
layers 0..k-1); when it is all frozen its output never changes, so it can be
computed once per utterance and cached (:mod:`speechtl.training.cache`).
"""

from __future__ import annotations

import torch
from torch import nn

from .adapters import family_of
from .freeze import model_blocks


def first_trainable_layer(model: nn.Module) -> int | None:
    """Index of the lowest layer with a trainable parameter, if everything below it is
    frozen (the prefix can be cached); else None."""
    blocks = model_blocks(model)
    layers = [name for name in blocks if name.startswith("layers.")]
    k = next((i for i, name in enumerate(layers) if _trainable(blocks[name])), len(layers))
    below = ["feature_encoder", "feature_projection", "positional"] + layers[:k]
    if any(_trainable(blocks[name]) for name in below):
        return None
    return k


def _trainable(modules: list[nn.Module]) -> bool:
    return any(p.requires_grad for m in modules for p in m.parameters())


def prefix(model: nn.Module, input_values: torch.Tensor, attention_mask: torch.Tensor | None, k: int
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Hidden states entering layer ``k`` (batch, frames, dim) and the frame mask (batch, frames)."""
    return family_of(model).prefix(model, input_values, attention_mask, k)


def suffix(model: nn.Module, hidden: torch.Tensor, frames: torch.Tensor, k: int) -> torch.Tensor:
    """Logits from the hidden states entering layer ``k``."""
    return family_of(model).suffix(model, hidden, frames, k)
