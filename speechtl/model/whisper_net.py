"""The Whisper-encoder CTC network without transformers: what inference loads.

Importing transformers' Whisper modules takes about 3.5 s on a 2-core CPU (torch's
compiler and distributed packages come with them), as long as the whole two-pass
decoding of a minute of audio. ``speechtl transcribe`` and ``evaluate`` only run the
network, so they load it as :class:`WhisperCTCNet`: the same computation and the same
parameter names as model/whisper.WhisperForCTC (transformers' encoder, which training
and saving use), in plain torch. Both share :class:`WhisperCTCMethods`.

    model = load_ctranslate2_net("…/whisper-base-ct2", vocab_size=32, pad_token_id=0)
    model = WhisperCTCNet(NetConfig.from_json(json.loads(Path("config.json").read_text())))

Also here, since it needs no transformers: Whisper's mel filterbank. CTranslate2's
``model.bin`` format is read in model/ct2_format.py.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .ct2_format import ctranslate2_encoder, load_encoder_state
from .ctc import ctc_loss, frame_mask
from .specaugment import spec_augment

N_FFT = 400
HOP_LENGTH = 160  # samples between mel frames at 16 kHz
SAMPLES_PER_OUTPUT_FRAME = 2 * HOP_LENGTH  # conv2 has stride 2


@dataclass
class CTCOutput:
    logits: torch.Tensor
    loss: torch.Tensor | None = None


class WhisperCTCMethods:
    """What both Whisper CTC classes compute, over ``self.encoder`` (conv1, conv2,
    embed_positions, layers, layer_norm, dropout, layerdrop), ``self.lm_head`` and
    ``self.config``."""

    main_input_name = "input_values"

    @property
    def vocab_size(self) -> int:
        return self.config.ctc_vocab_size

    def _get_feat_extract_output_lengths(self, num_samples: torch.Tensor) -> torch.Tensor:
        mel_frames = torch.div(num_samples, HOP_LENGTH, rounding_mode="floor")
        return torch.div(mel_frames + 1, 2, rounding_mode="floor")  # conv2: ceil(frames / 2)

    def log_mel(self, waveforms: torch.Tensor) -> torch.Tensor:
        """Whisper's log-mel spectrogram (batch, mels, frames), as WhisperFeatureExtractor computes it."""
        return log_mel(waveforms, self.config.num_mel_bins)

    def embed(self, features: torch.Tensor) -> torch.Tensor:
        """Convolutions and positions: what enters the first block (batch, frames, d_model),
        for log-mel ``features`` of any length up to 30 s."""
        enc = self.encoder
        x = nn.functional.gelu(enc.conv1(features))
        x = nn.functional.gelu(enc.conv2(x)).permute(0, 2, 1)
        frames = x.shape[1]
        if frames > enc.embed_positions.num_embeddings:
            raise ValueError(f"input of {frames} frames exceeds Whisper's {enc.embed_positions.num_embeddings} "
                             f"positions (30 s): chunk longer audio")
        x = x + enc.embed_positions.weight[:frames]
        return nn.functional.dropout(x, p=enc.dropout, training=self.training)

    def run_layers(self, x: torch.Tensor, frames: torch.Tensor | None, layers: slice = slice(None)) -> torch.Tensor:
        """The transformer blocks ``layers`` (all by default) on hidden states; padded frames
        (False in ``frames``) are never attended to. The whole model and the split/cached
        training path (model/split.py) both go through here."""
        enc = self.encoder
        mask = None
        if frames is not None and not bool(frames.all()):
            mask = torch.zeros(frames.shape, dtype=x.dtype, device=x.device)
            mask = mask.masked_fill(~frames.bool(), torch.finfo(x.dtype).min)[:, None, None, :]
        for layer in enc.layers[layers]:
            if self.training and enc.layerdrop > 0 and torch.rand([]) < enc.layerdrop:
                continue
            x = layer(x, mask)
        return x

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """Logits from the last block's output: the final layer norm, then the CTC head."""
        return self.lm_head(self.encoder.layer_norm(x))

    def encode(self, features: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
        """Encoder states (batch, frames, d_model) for log-mel ``features`` of any length up to 30 s."""
        return self.encoder.layer_norm(self.run_layers(self.embed(features), frames))

    def forward(self, input_values: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, **_) -> CTCOutput:
        features = self.log_mel(input_values).to(self.lm_head.weight.dtype)
        if self.training and getattr(self.config, "apply_spec_augment", False):
            features = spec_augment(features, self.config, time_dim=2)  # zeros: Whisper has no mask vector
        frames = frame_mask(self, attention_mask, input_values, (features.shape[-1] + 1) // 2)
        logits = self.head(self.run_layers(self.embed(features), frames))
        loss = None
        if labels is not None:
            loss = ctc_loss(logits, frames, labels, self.config)
        return CTCOutput(logits=logits, loss=loss)


# --- the network in plain torch (inference) ----------------------------------------------

@dataclass
class NetConfig:
    """The fields of a WhisperForCTC config.json the network needs."""

    d_model: int
    encoder_layers: int
    encoder_attention_heads: int
    encoder_ffn_dim: int
    num_mel_bins: int
    max_source_positions: int
    ctc_vocab_size: int
    pad_token_id: int
    model_type: str = "whisper"
    dropout: float = 0.0
    encoder_layerdrop: float = 0.0

    @classmethod
    def from_json(cls, data: dict) -> "NetConfig":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class _Attention(nn.Module):
    def __init__(self, d_model: int, heads: int) -> None:
        super().__init__()
        self.num_heads = heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model, bias=False)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        batch, frames, d_model = x.shape
        split = lambda t: t.view(batch, frames, self.num_heads, -1).transpose(1, 2)  # noqa: E731
        out = nn.functional.scaled_dot_product_attention(split(self.q_proj(x)), split(self.k_proj(x)),
                                                         split(self.v_proj(x)), attn_mask=mask)
        return self.out_proj(out.transpose(1, 2).reshape(batch, frames, d_model))


class _Layer(nn.Module):
    """A pre-norm block: self-attention, then a GELU MLP, each added to its input."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.self_attn = _Attention(config.d_model, config.encoder_attention_heads)
        self.self_attn_layer_norm = nn.LayerNorm(config.d_model)
        self.fc1 = nn.Linear(config.d_model, config.encoder_ffn_dim)
        self.fc2 = nn.Linear(config.encoder_ffn_dim, config.d_model)
        self.final_layer_norm = nn.LayerNorm(config.d_model)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.self_attn(self.self_attn_layer_norm(x), mask)
        x = x + self.fc2(nn.functional.gelu(self.fc1(self.final_layer_norm(x))))
        if x.dtype == torch.float16:  # as transformers' layer does: no inf in half precision
            limit = torch.finfo(x.dtype).max - 1000
            x = torch.clamp(x, min=-limit, max=limit)
        return x


class _Encoder(nn.Module):
    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.dropout, self.layerdrop = config.dropout, config.encoder_layerdrop
        self.conv1 = nn.Conv1d(config.num_mel_bins, config.d_model, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(config.d_model, config.d_model, kernel_size=3, stride=2, padding=1)
        self.embed_positions = nn.Embedding(config.max_source_positions, config.d_model)
        self.layers = nn.ModuleList(_Layer(config) for _ in range(config.encoder_layers))
        self.layer_norm = nn.LayerNorm(config.d_model)


class WhisperCTCNet(WhisperCTCMethods, nn.Module):
    """model/whisper.WhisperForCTC's network in plain torch, for inference (eval mode)."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = _Encoder(config)
        self.lm_head = nn.Linear(config.d_model, config.ctc_vocab_size)
        self.eval()


def load_net_folder(folder: str | Path) -> WhisperCTCNet:
    """A saved WhisperForCTC folder (config.json, model.safetensors) as the plain network."""
    from safetensors.torch import load_file

    folder = Path(folder)
    model = WhisperCTCNet(NetConfig.from_json(json.loads((folder / "config.json").read_text(encoding="utf-8"))))
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    return model


def load_ctranslate2_net(path: str | Path, vocab_size: int, pad_token_id: int) -> WhisperCTCNet:
    """A :class:`WhisperCTCNet` whose encoder holds a CTranslate2 Whisper's encoder weights
    (a fresh CTC head, as transformers would initialize it)."""
    sizes, state = ctranslate2_encoder(path)
    model = WhisperCTCNet(NetConfig(**sizes, ctc_vocab_size=vocab_size, pad_token_id=pad_token_id))
    nn.init.normal_(model.lm_head.weight, std=0.02)
    nn.init.zeros_(model.lm_head.bias)
    load_encoder_state(model, state, path)
    return model


# --- features ---------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def _mel_constants(num_mel_bins: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.from_numpy(mel_filters(num_mel_bins)).to(device), torch.hann_window(N_FFT, device=device)


def log_mel(waveforms: torch.Tensor, num_mel_bins: int) -> torch.Tensor:
    """Whisper's log-mel spectrogram (batch, mels, frames) of (batch, samples) audio, each
    clip floored 8 decades below its own peak, as WhisperFeatureExtractor computes it."""
    filters, window = _mel_constants(num_mel_bins, waveforms.device)
    stft = torch.stft(waveforms.float(), N_FFT, HOP_LENGTH, window=window, return_complex=True)
    log_spec = torch.clamp(filters.T @ (stft[..., :-1].abs() ** 2), min=1e-10).log10()
    peak = log_spec.amax(dim=(-2, -1), keepdim=True)
    return (torch.maximum(log_spec, peak - 8.0) + 4.0) / 4.0


def mel_filters(num_mel_bins: int, sampling_rate: int = 16_000, n_fft: int = N_FFT) -> np.ndarray:
    """Whisper's mel filterbank, (n_fft // 2 + 1, num_mel_bins): Slaney's mel scale and
    area normalization from 0 to 8 kHz (librosa's defaults, which Whisper used)."""
    def to_mel(hz):
        hz = np.asarray(hz, np.float64)
        linear = hz / (200.0 / 3)
        return np.where(hz >= 1000.0, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), linear)

    def to_hz(mel):
        mel = np.asarray(mel, np.float64)
        return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))

    fft_hz = np.linspace(0, sampling_rate / 2, n_fft // 2 + 1)
    edges = to_hz(np.linspace(to_mel(0.0), to_mel(sampling_rate / 2), num_mel_bins + 2))
    widths = np.diff(edges)
    slopes = edges[None, :] - fft_hz[:, None]
    down = -slopes[:, :-2] / widths[:-1]
    up = slopes[:, 2:] / widths[1:]
    filters = np.maximum(0.0, np.minimum(down, up))
    filters *= 2.0 / (edges[2:] - edges[:-2])  # each filter's area the same
    return filters.astype(np.float32)
