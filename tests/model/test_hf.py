"""Contract tests for the transformers internals model/hf.py wraps: a release that moves
or changes one fails here, by name."""

import inspect

import numpy as np
import torch

from speechtl.model import hf


def test_the_span_sampler_is_where_and_what_we_expect():
    # fails loudly when a transformers release moves or changes _compute_mask_indices
    from transformers.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices

    params = list(inspect.signature(_compute_mask_indices).parameters)
    assert params[:5] == ["shape", "mask_prob", "mask_length", "attention_mask", "min_masks"]
    np.random.seed(0)
    spans = _compute_mask_indices((3, 100), 0.2, 5, min_masks=2)
    assert spans.shape == (3, 100) and spans.dtype == bool and (spans.sum(1) >= 5).all()


def test_output_lengths_are_the_frames_the_model_gives(tiny_bundle):
    model = tiny_bundle.model.eval()
    for n in (400, 4000, 16_000, 16_123):
        with torch.no_grad():
            frames = model(torch.zeros(1, n)).logits.shape[1]
        assert int(hf.output_lengths(model, torch.tensor([n]))[0]) == frames


def test_the_bidirectional_mask_hides_padded_frames(tiny_bundle):
    config = tiny_bundle.model.config
    hidden = torch.zeros(2, 5, config.hidden_size)
    frames = torch.tensor([[True] * 5, [True, True, True, False, False]])
    mask = hf.bidirectional_mask(config, hidden, frames)
    assert mask is not None and mask.shape[-2:] == (5, 5)
    keep = mask if mask.dtype == torch.bool else mask == 0  # a boolean mask, or additive zeros where attended
    assert keep[0].all() and keep[1, ..., :3].all() and not keep[1, ..., 3:].any()
