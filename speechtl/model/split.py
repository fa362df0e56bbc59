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

from .ctc import frame_mask
from .family import is_whisper
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
    if is_whisper(model):
        features = model.log_mel(input_values).to(model.lm_head.weight.dtype)
        frames = frame_mask(model, attention_mask, input_values, (features.shape[-1] + 1) // 2)
        return model.run_layers(model.embed(features), frames, slice(0, k)), frames
    base = model.base_model
    features = base.feature_extractor(input_values).transpose(1, 2)
    frames = frame_mask(model, attention_mask, input_values, features.shape[1])
    hidden, _ = base.feature_projection(features)
    hidden = hidden.masked_fill(~frames[..., None], 0.0)
    enc = base.encoder
    hidden = hidden + enc.pos_conv_embed(hidden)
    if not getattr(model.config, "do_stable_layer_norm", False):
        hidden = enc.layer_norm(hidden)
    mask = _bidirectional_mask(model, hidden, frames)
    for layer in enc.layers[:k]:
        hidden = _out(layer(hidden, attention_mask=mask))
    return hidden, frames


def suffix(model: nn.Module, hidden: torch.Tensor, frames: torch.Tensor, k: int) -> torch.Tensor:
    """Logits from the hidden states entering layer ``k``."""
    if is_whisper(model):
        return model.head(model.run_layers(hidden, frames, slice(k, None)))
    enc = model.base_model.encoder
    mask = _bidirectional_mask(model, hidden, frames)
    for layer in enc.layers[k:]:
        if model.training and model.config.layerdrop > 0 and torch.rand([]) < model.config.layerdrop:
            continue
        hidden = _out(layer(hidden, attention_mask=mask))
    if getattr(model.config, "do_stable_layer_norm", False):
        hidden = enc.layer_norm(hidden)
    return model.lm_head(model.dropout(hidden))


def _bidirectional_mask(model, hidden: torch.Tensor, frames: torch.Tensor):
    if bool(frames.all()):
        return None
    from transformers.masking_utils import create_bidirectional_mask

    return create_bidirectional_mask(config=model.config, inputs_embeds=hidden, attention_mask=frames.long())


def _out(value):
    return value[0] if isinstance(value, tuple) else value
