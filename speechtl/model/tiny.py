"""Small randomly initialised Wav2Vec2 checkpoints, built from a config.

They need no download, so tests, the built-in demo and benchmarks use them to
exercise the real loading, training and saving paths in seconds. The
``base_sized`` preset matches wav2vec2-base's shape for speed measurements.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..alphabet import Alphabet
from .loader import Bundle, save_bundle

TINY = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=2, intermediate_size=128,
            conv_dim=(64,) * 7, num_conv_pos_embeddings=32, num_conv_pos_embedding_groups=4)
BASE_SIZED = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                  conv_dim=(512,) * 7, num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16,
                  feat_extract_norm="group", do_stable_layer_norm=False)


def random_wav2vec2(alphabet: Alphabet | None = None, seed: int = 0, **overrides) -> Bundle:
    """A randomly initialised Wav2Vec2ForCTC over ``alphabet`` (default: TINY shape)."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    alphabet = alphabet or Alphabet.default()
    fields = dict(TINY, feat_extract_norm="layer", do_stable_layer_norm=True,
                  vocab_size=len(alphabet), pad_token_id=alphabet.blank_id, mask_time_prob=0.0)
    fields.update(overrides)
    torch.manual_seed(seed)
    return Bundle(Wav2Vec2ForCTC(Wav2Vec2Config(**fields)), alphabet, new_rows=len(alphabet))


def write_random_checkpoint(directory: str | os.PathLike[str], alphabet: Alphabet | None = None,
                            seed: int = 0, **overrides) -> Path:
    """Save a random checkpoint in Hugging Face layout, as a hub download would look."""
    return save_bundle(random_wav2vec2(alphabet, seed, **overrides), directory)
