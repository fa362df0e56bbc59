"""The adapter for speechtl's Whisper-encoder CTC models (model/whisper.py): the conv
stem with fixed sinusoidal positions, transformer blocks, final layer norm, CTC head."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .ctc import frame_mask
from .whisper_net import N_FFT, SAMPLES_PER_OUTPUT_FRAME


class WhisperFamily:
    name = "whisper-ctc"
    normalize_audio = False  # the log-mel features want the raw signal
    vocab_size_field = "ctc_vocab_size"
    shortest_input = N_FFT // 2 + 1  # the spectrogram pads 200 samples each side, reflecting the signal

    def frame_shift(self, model: nn.Module, sampling_rate: int) -> float:
        return SAMPLES_PER_OUTPUT_FRAME / sampling_rate

    def uses_attention_mask(self, model: nn.Module) -> bool:
        return True

    def blocks(self, model: nn.Module) -> dict[str, list[nn.Module]]:
        """The conv stem is the feature encoder; positions are fixed sinusoids and stay
        with it; there is no feature projection."""
        enc = model.encoder
        blocks: dict[str, list[nn.Module]] = {
            "feature_encoder": [enc.conv1, enc.conv2, enc.embed_positions],
            "feature_projection": [], "positional": [],
        }
        for i, layer in enumerate(enc.layers):
            blocks[f"layers.{i}"] = [layer]
        blocks["final_layer_norm"] = [enc.layer_norm]
        blocks["head"] = [model.lm_head]
        return blocks

    def encoder_layers(self, model: nn.Module) -> nn.ModuleList:
        return model.encoder.layers

    def prefix(self, model: nn.Module, input_values: torch.Tensor, attention_mask: torch.Tensor | None,
               k: int) -> tuple[torch.Tensor, torch.Tensor]:
        features = model.log_mel(input_values).to(model.lm_head.weight.dtype)
        frames = frame_mask(model, attention_mask, input_values, (features.shape[-1] + 1) // 2)
        return model.run_layers(model.embed(features), frames, slice(0, k)), frames

    def suffix(self, model: nn.Module, hidden: torch.Tensor, frames: torch.Tensor, k: int) -> torch.Tensor:
        return model.head(model.run_layers(hidden, frames, slice(k, None)))

    def mask_vector(self, model: nn.Module) -> torch.Tensor | None:
        return None  # Whisper masks with zeros: it has no learned mask vector

    def configure_training(self, model: nn.Module, layerdrop: float) -> None:
        model.config.encoder_layerdrop = layerdrop

    def freeze_feature_encoder(self, model: nn.Module) -> None:
        pass  # the blocks' requires_grad is all there is

    def save_processor(self, model: nn.Module, folder: Any, sampling_rate: int, attention_mask: bool) -> None:
        from transformers import WhisperFeatureExtractor

        WhisperFeatureExtractor(feature_size=model.config.num_mel_bins).save_pretrained(str(folder))


WHISPER_CTC = WhisperFamily()
