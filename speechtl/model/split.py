"""A CTC model cut in two at the first trainable layer: a frozen prefix, a trainable suffix.

    k = first_trainable_layer(model)          # after FreezePolicy.apply
    hidden, frames = prefix(model, values, attention_mask, k)
    logits = suffix(model, hidden, frames, k)  # == model(values).logits in eval mode

The prefix is everything below layer ``k`` (feature encoder, projection, positions,
layers 0..k-1); when it is all frozen its output never changes, so it can be
computed once per utterance and cached (:mod:`speechtl.cache`).
"""

from __future__ import annotations

import torch
from torch import nn

from .freeze import model_blocks


def _is_whisper(model: nn.Module) -> bool:
    return getattr(model.config, "model_type", None) == "whisper"


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
    if _is_whisper(model):
        features = model.log_mel(input_values).to(model.lm_head.weight.dtype)
        frames = _frame_mask(model, attention_mask, input_values, (features.shape[-1] + 1) // 2)
        enc = model.encoder
        x = nn.functional.gelu(enc.conv1(features))
        x = nn.functional.gelu(enc.conv2(x)).permute(0, 2, 1)
        x = x + enc.embed_positions.weight[: x.shape[1]]
        mask = _whisper_mask(frames, x.dtype)
        for layer in enc.layers[:k]:
            x = layer(x, mask)
        return x, frames
    base = model.base_model
    features = base.feature_extractor(input_values).transpose(1, 2)
    frames = _frame_mask(model, attention_mask, input_values, features.shape[1])
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
    if _is_whisper(model):
        enc = model.encoder
        mask = _whisper_mask(frames, hidden.dtype)
        for layer in enc.layers[k:]:
            if model.training and enc.layerdrop > 0 and torch.rand([]) < enc.layerdrop:
                continue
            hidden = layer(hidden, mask)
        return model.lm_head(enc.layer_norm(hidden))
    enc = model.base_model.encoder
    mask = _bidirectional_mask(model, hidden, frames)
    for layer in enc.layers[k:]:
        if model.training and model.config.layerdrop > 0 and torch.rand([]) < model.config.layerdrop:
            continue
        hidden = _out(layer(hidden, attention_mask=mask))
    if getattr(model.config, "do_stable_layer_norm", False):
        hidden = enc.layer_norm(hidden)
    return model.lm_head(model.dropout(hidden))


def ctc_loss(logits: torch.Tensor, frames: torch.Tensor, labels: torch.Tensor, config) -> torch.Tensor:
    """CTC loss as the Hugging Face CTC heads compute it (labels padded with -100)."""
    mask = labels >= 0
    log_probs = nn.functional.log_softmax(logits, dim=-1, dtype=torch.float32).transpose(0, 1)
    with torch.backends.cudnn.flags(enabled=False):
        return nn.functional.ctc_loss(log_probs, labels.masked_select(mask), frames.sum(-1), mask.sum(-1),
                                      blank=config.pad_token_id,
                                      reduction=getattr(config, "ctc_loss_reduction", "mean"),
                                      zero_infinity=getattr(config, "ctc_zero_infinity", True))


def _frame_mask(model, attention_mask, input_values, frames: int) -> torch.Tensor:
    if attention_mask is None:
        return torch.ones(input_values.shape[0], frames, dtype=torch.bool, device=input_values.device)
    lengths = model._get_feat_extract_output_lengths(attention_mask.sum(-1))
    return torch.arange(frames, device=input_values.device)[None, :] < lengths[:, None]


def _whisper_mask(frames: torch.Tensor, dtype: torch.dtype) -> torch.Tensor | None:
    if bool(frames.all()):
        return None
    mask = torch.zeros(frames.shape, dtype=dtype, device=frames.device)
    return mask.masked_fill(~frames, torch.finfo(dtype).min)[:, None, None, :]


def _bidirectional_mask(model, hidden: torch.Tensor, frames: torch.Tensor):
    if bool(frames.all()):
        return None
    from transformers.masking_utils import create_bidirectional_mask

    return create_bidirectional_mask(config=model.config, inputs_embeds=hidden, attention_mask=frames.long())


def _out(value):
    return value[0] if isinstance(value, tuple) else value
