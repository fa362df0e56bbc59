"""What every CTC model here shares: which output frames are real, and the CTC loss."""

from __future__ import annotations

import torch
from torch import nn

from .hf import output_lengths


def frame_mask(model: nn.Module, attention_mask: torch.Tensor | None, input_values: torch.Tensor,
               frames: int) -> torch.Tensor:
    """(batch, frames) bool: True where an output frame comes from real audio, not padding."""
    if attention_mask is None:
        return torch.ones(input_values.shape[0], frames, dtype=torch.bool, device=input_values.device)
    lengths = output_lengths(model, attention_mask.sum(-1))
    return torch.arange(frames, device=input_values.device)[None, :] < lengths[:, None]


def ctc_loss(logits: torch.Tensor, frames: torch.Tensor, labels: torch.Tensor, config) -> torch.Tensor:
    """CTC loss as the Hugging Face CTC heads compute it (labels padded with -100)."""
    mask = labels >= 0
    log_probs = nn.functional.log_softmax(logits, dim=-1, dtype=torch.float32).transpose(0, 1)
    with torch.backends.cudnn.flags(enabled=False):
        return nn.functional.ctc_loss(log_probs, labels.masked_select(mask), frames.sum(-1), mask.sum(-1),
                                      blank=config.pad_token_id,
                                      reduction=getattr(config, "ctc_loss_reduction", "mean"),
                                      zero_infinity=getattr(config, "ctc_zero_infinity", True))
