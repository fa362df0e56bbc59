"""SpecAugment (the transformers sampler it relies on: tests/model/test_hf.py)."""

from types import SimpleNamespace

import numpy as np
import torch

from speechtl.model.specaugment import MIN_TIME_MASKS, span_mask, spec_augment


def test_spans_respect_the_minimum_and_stay_on_valid_frames():
    np.random.seed(1)
    valid = torch.zeros(4, 200, dtype=torch.bool)
    valid[:, :50] = True
    mask = span_mask(4, 200, 0.01, 10, min_masks=MIN_TIME_MASKS, valid=valid)
    assert mask.shape == (4, 200) and mask.dtype == torch.bool
    assert (mask.sum(1) >= 10).all()  # two spans of 10, possibly overlapping: at least one whole span
    assert not mask[:, 50:].any()


def _config(time_prob=0.0, feature_prob=0.0):
    return SimpleNamespace(mask_time_prob=time_prob, mask_time_length=4, mask_feature_prob=feature_prob,
                           mask_feature_length=3)


def test_time_spans_on_mel_input_zero_every_band_and_leave_the_input_alone():
    np.random.seed(2)
    features = torch.ones(2, 8, 60)  # (batch, mels, frames)
    masked = spec_augment(features, _config(time_prob=0.2), time_dim=2)
    assert features.eq(1).all()  # a copy
    zero_frames = masked.eq(0).all(dim=1)  # (batch, frames): a masked frame is zero in every band
    assert zero_frames.any(dim=1).all() and masked.eq(0).sum() == zero_frames.sum() * 8


def test_time_spans_on_hidden_states_take_the_mask_vector_and_bands_take_zeros():
    np.random.seed(3)
    hidden = torch.ones(2, 40, 16)  # (batch, frames, dim)
    vector = torch.full((16,), 7.0)
    masked = spec_augment(hidden, _config(time_prob=0.2), time_dim=1, time_value=vector)
    spans = masked.eq(7).all(dim=-1)
    assert spans.any(dim=1).all() and masked[~spans].eq(1).all()
    bands = spec_augment(hidden, _config(feature_prob=0.3), time_dim=1)
    zero_channels = bands.eq(0).all(dim=1)  # (batch, dim): a masked band is zero on every frame
    assert zero_channels.any(dim=1).all() and bands.eq(0).sum() == zero_channels.sum() * 40
