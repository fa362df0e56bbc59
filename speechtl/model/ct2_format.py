"""CTranslate2's Whisper format, read without CTranslate2: ``model.bin`` (binary format
5 and 6) and its encoder weights under transformers' names, which both Whisper CTC
classes (model/whisper.py, model/whisper_net.py) load.

    spec, arrays = read_ctranslate2("…/model.bin")
    sizes, state = ctranslate2_encoder("…/whisper-base-ct2")   # config fields, encoder.* tensors
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import ModelLoadError

CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


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


def ctranslate2_encoder(path: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """A CTranslate2 Whisper's encoder: its sizes (config fields) and its weights under
    transformers' names (``encoder.*``)."""
    spec, t = read_ctranslate2(Path(path) / "model.bin")
    if spec != "WhisperSpec":
        raise ModelLoadError(f"{path}: a CTranslate2 {spec}, not a Whisper model")
    d_model = t["encoder/conv1/weight"].shape[0]
    layers = sum(1 for k in t if k.startswith("encoder/layer_") and k.endswith("self_attention/linear_1/weight"))
    sizes = dict(d_model=d_model, encoder_layers=layers, encoder_attention_heads=int(t["encoder/num_heads"]),
                 encoder_ffn_dim=t["encoder/layer_0/ffn/linear_0/weight"].shape[0],
                 num_mel_bins=t["encoder/conv1/weight"].shape[1],
                 max_source_positions=t["encoder/position_encodings/encodings"].shape[0])
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
        for name, (part, leaf) in {"self_attn.out_proj": ("self_attention/linear_1", ""),
                                   "self_attn_layer_norm": ("self_attention/layer_norm", "norm"),
                                   "fc1": ("ffn/linear_0", ""), "fc2": ("ffn/linear_1", ""),
                                   "final_layer_norm": ("ffn/layer_norm", "norm")}.items():
            weight, bias = ("gamma", "beta") if leaf else ("weight", "bias")
            state[f"{dst}.{name}.weight"] = f32(f"{src}/{part}/{weight}")
            state[f"{dst}.{name}.bias"] = f32(f"{src}/{part}/{bias}")
    return sizes, state


def load_encoder_state(model: nn.Module, state: dict[str, torch.Tensor], path: str | Path) -> None:
    """``state`` (encoder weights) into ``model``, whose CTC head stays as it is."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("lm_head")]
    if missing or unexpected:
        raise ModelLoadError(f"{path}: CTranslate2 weights do not fit (missing {missing[:3]}, unexpected {unexpected[:3]})")
