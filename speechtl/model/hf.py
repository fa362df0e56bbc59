"""The transformers internals speechtl relies on, in one place.

They are private (a leading underscore) or young APIs that moved between releases, so
each is wrapped here and checked by a contract test (tests/model/test_hf.py): a
transformers release that changes one fails there, by name, not deep in training.
pyproject bounds transformers (>=5.24,<5.25) for the same reason.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def output_lengths(model: nn.Module, num_samples: torch.Tensor) -> torch.Tensor:
    """Output frames of a CTC model for inputs of ``num_samples`` samples (Wav2Vec2-family
    models: transformers' ``_get_feat_extract_output_lengths``; speechtl's Whisper-CTC
    model implements the same method)."""
    return model._get_feat_extract_output_lengths(num_samples)


def compute_mask_indices(shape: tuple[int, int], prob: float, span: int, min_masks: int = 0,
                         attention_mask: torch.Tensor | None = None) -> np.ndarray:
    """(batch, length) bool spans as Wav2Vec2 samples them for SpecAugment, from numpy's RNG."""
    from transformers.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices

    return _compute_mask_indices(shape, prob, span, min_masks=min_masks, attention_mask=attention_mask)


def bidirectional_mask(config, hidden: torch.Tensor, frames: torch.Tensor):
    """The attention mask transformers' encoder layers take for (batch, frames) real-frame flags."""
    from transformers.masking_utils import create_bidirectional_mask

    return create_bidirectional_mask(config=config, inputs_embeds=hidden, attention_mask=frames.long())
