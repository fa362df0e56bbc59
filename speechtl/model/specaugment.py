"""SpecAugment: random time spans and channel bands masked during training.

One implementation for both places it happens: Whisper's log-mel input
(batch, mels, frames) and the hidden states at the cut of a cached prefix
(batch, frames, dim). The span sampling is transformers' ``_compute_mask_indices``
(the sampler Wav2Vec2 itself trains with), a private function: model/hf.py wraps it
and tests/model/test_hf.py checks it.
"""

from __future__ import annotations

import torch

from .hf import compute_mask_indices

MIN_TIME_MASKS = 2  # at least this many time spans per utterance, as Wav2Vec2's fine-tuning does


def span_mask(batch: int, length: int, prob: float, span: int, min_masks: int = 0,
              valid: torch.Tensor | None = None) -> torch.Tensor:
    """(batch, length) bool: spans of ``span`` steps covering about ``prob`` of each row
    (of its ``valid`` part when given), drawn from numpy's global RNG."""
    spans = compute_mask_indices((batch, length), prob, span, min_masks,
                                 None if valid is None else valid.long().cpu())
    return torch.from_numpy(spans)


def spec_augment(x: torch.Tensor, config, time_dim: int, valid: torch.Tensor | None = None,
                 time_value: torch.Tensor | None = None) -> torch.Tensor:
    """A masked copy of ``x`` (3-D, time on ``time_dim`` 1 or 2, channels on the other):
    ``config.mask_time_prob``/``mask_time_length`` spans of time get ``time_value`` (zeros
    when None), ``config.mask_feature_prob``/``mask_feature_length`` channel bands get zeros.
    ``valid`` (batch, time): spans fall only on real frames."""
    batch = x.shape[0]
    channel_dim = 3 - time_dim
    length, channels = x.shape[time_dim], x.shape[channel_dim]
    x = x.clone()
    if config.mask_time_prob > 0 and length > config.mask_time_length:
        spans = span_mask(batch, length, config.mask_time_prob, config.mask_time_length, MIN_TIME_MASKS, valid)
        spans = spans.to(x.device)
        if valid is not None:
            spans &= valid
        if time_dim == 1:
            x[spans] = time_value.to(x.dtype) if time_value is not None else 0.0
        else:
            x[spans[:, None, :].expand(-1, channels, -1)] = 0.0
    if config.mask_feature_prob > 0 and channels > config.mask_feature_length:
        bands = span_mask(batch, channels, config.mask_feature_prob, config.mask_feature_length).to(x.device)
        bands = bands[:, None, :].expand(-1, length, -1) if time_dim == 1 else bands[:, :, None].expand(-1, -1, length)
        x[bands] = 0.0
    return x
