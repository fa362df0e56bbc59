"""The adapter for transformers' Wav2Vec2-family CTC models (wav2vec2, HuBERT, WavLM,
data2vec-audio, conformer): convolutional feature encoder, feature projection,
convolutional positions, transformer layers, CTC head."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .ctc import frame_mask
from .family import ParamHolder
from .hf import bidirectional_mask


class Wav2Vec2Family:
    name = "wav2vec2"
    normalize_audio = True
    vocab_size_field = "vocab_size"
    shortest_input = 0

    def frame_shift(self, model: nn.Module, sampling_rate: int) -> float:
        return math.prod(model.config.conv_stride) / sampling_rate

    def uses_attention_mask(self, model: nn.Module) -> bool:
        # Checkpoints with group-norm feature encoders (wav2vec2-base) were trained
        # without an attention mask; Hugging Face advises not passing one to them.
        return getattr(model.config, "feat_extract_norm", "layer") == "layer"

    def blocks(self, model: nn.Module) -> dict[str, list[nn.Module]]:
        base = model.base_model
        encoder = base.encoder
        stable = getattr(model.config, "do_stable_layer_norm", False)
        blocks: dict[str, list[nn.Module]] = {
            "feature_encoder": [base.feature_extractor],
            "feature_projection": [base.feature_projection],
            "positional": [encoder.pos_conv_embed] + ([] if stable else [encoder.layer_norm]),
        }
        if getattr(base, "masked_spec_embed", None) is not None:
            # The learned mask vector belongs with the projection it replaces.
            blocks["feature_projection"].append(ParamHolder(base.masked_spec_embed))
        for i, layer in enumerate(encoder.layers):
            blocks[f"layers.{i}"] = [layer]
        if stable:
            blocks["final_layer_norm"] = [encoder.layer_norm]
        blocks["head"] = [model.lm_head]
        return blocks

    def encoder_layers(self, model: nn.Module) -> nn.ModuleList:
        return model.base_model.encoder.layers

    def prefix(self, model: nn.Module, input_values: torch.Tensor, attention_mask: torch.Tensor | None,
               k: int) -> tuple[torch.Tensor, torch.Tensor]:
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

    def suffix(self, model: nn.Module, hidden: torch.Tensor, frames: torch.Tensor, k: int) -> torch.Tensor:
        enc = model.base_model.encoder
        mask = _bidirectional_mask(model, hidden, frames)
        for layer in enc.layers[k:]:
            if model.training and model.config.layerdrop > 0 and torch.rand([]) < model.config.layerdrop:
                continue
            hidden = _out(layer(hidden, attention_mask=mask))
        if getattr(model.config, "do_stable_layer_norm", False):
            hidden = enc.layer_norm(hidden)
        return model.lm_head(model.dropout(hidden))

    def mask_vector(self, model: nn.Module) -> torch.Tensor | None:
        return getattr(model.base_model, "masked_spec_embed", None)

    def configure_training(self, model: nn.Module, layerdrop: float) -> None:
        c, base = model.config, model.base_model
        if c.apply_spec_augment and getattr(base, "masked_spec_embed", None) is None:
            # Checkpoints saved without masking lack the learned mask vector; add it
            # with transformers' own initialisation.
            base.masked_spec_embed = torch.nn.Parameter(torch.empty(c.hidden_size).uniform_())
        c.ctc_loss_reduction = "mean"  # loss per target token: comparable across batch sizes
        c.ctc_zero_infinity = True  # an utterance too short for its text must not poison a batch

    def freeze_feature_encoder(self, model: nn.Module) -> None:
        # also stops transformers from asking for gradients of the conv output
        if hasattr(model, "freeze_feature_encoder"):
            model.freeze_feature_encoder()

    def save_processor(self, model: nn.Module, folder: Any, sampling_rate: int, attention_mask: bool) -> None:
        from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2Processor

        extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=sampling_rate, padding_value=0.0,
                                             do_normalize=True, return_attention_mask=attention_mask)
        tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(str(folder))
        Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(str(folder))
        extractor.save_pretrained(str(folder))  # preprocessor_config.json, for transformers 4.x readers


def _bidirectional_mask(model, hidden: torch.Tensor, frames: torch.Tensor):
    if bool(frames.all()):
        return None
    return bidirectional_mask(model.config, hidden, frames)


def _out(value):
    return value[0] if isinstance(value, tuple) else value


WAV2VEC2 = Wav2Vec2Family()
