"""CTranslate2's Whisper format, read and written without CTranslate2: ``model.bin``
(binary format 5 and 6) and its weights under transformers' names. Both Whisper CTC
classes (model/whisper.py, model/whisper_net.py) load the encoder from it; the writer
(model/whisper_writer.py) loads the whole model and writes it back after fine-tuning.

    ct2 = read_ctranslate2("…/model.bin")                     # spec, revision, named arrays
    sizes, state = ctranslate2_encoder("…/whisper-base-ct2")   # config fields, encoder.* tensors
    state = ctranslate2_state(ct2)                            # model.encoder.* and model.decoder.*
    write_ctranslate2("out/model.bin", with_state(ct2, model.state_dict()))
"""

from __future__ import annotations

import hashlib

import json
import struct
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import ModelLoadError

CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
CT2_BINARY_VERSION = 6  # what write_ctranslate2 writes (CTranslate2 4.x reads 1-6)


@dataclass(frozen=True)
class CT2Model:
    """A ``model.bin``: its spec name and revision, and its variables in file order."""

    spec: str
    revision: int
    arrays: dict[str, np.ndarray]
    aliases: dict[str, str]  # a name that shares another's array (Whisper: the output projection, the embedding)


def is_ctranslate2_whisper(path: str | Path) -> bool:
    path = Path(path)
    return (path / "model.bin").is_file() and (path / "config.json").is_file() and \
        "alignment_heads" in json.loads((path / "config.json").read_text())


def read_ctranslate2(path: str | Path) -> CT2Model:
    """Read a CTranslate2 ``model.bin`` (binary format 5 or 6)."""
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
    if version < 5 or version > CT2_BINARY_VERSION:
        raise ModelLoadError(f"{path}: CTranslate2 binary version {version} is not supported (need 5 or 6)")
    spec = string()
    revision = take("<I")
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
    aliases = {}
    if version >= 6:
        for _ in range(take("<I")):
            alias = string()
            aliases[alias] = string()
    return CT2Model(spec, revision, arrays, aliases)


def write_ctranslate2(path: str | Path, model: CT2Model) -> None:
    """Write ``model`` as a ``model.bin`` (binary format 6) at ``path``."""
    codes = {np.dtype(v): k for k, v in CT2_DTYPES.items()}

    def string(s: str) -> bytes:
        raw = s.encode("utf-8") + b"\0"
        return struct.pack("<H", len(raw)) + raw

    with open(path, "wb") as f:
        f.write(struct.pack("<I", CT2_BINARY_VERSION) + string(model.spec) + struct.pack("<I", model.revision))
        f.write(struct.pack("<I", len(model.arrays)))
        for name, array in model.arrays.items():
            f.write(string(name) + struct.pack("<B", array.ndim) + b"".join(struct.pack("<I", d) for d in array.shape))
            f.write(struct.pack("<B", codes[array.dtype]) + struct.pack("<I", array.nbytes) + array.tobytes())
        f.write(struct.pack("<I", len(model.aliases)))
        for alias, name in model.aliases.items():
            f.write(string(alias) + string(name))


# --- CTranslate2 names <-> transformers names ---------------------------------------------

def _count(arrays: dict[str, np.ndarray], part: str) -> int:
    return sum(1 for k in arrays if k.startswith(f"{part}/layer_") and k.endswith("/ffn/linear_0/weight"))


def _norm(ct2: str, hf: str) -> list[tuple[str, str, int, int]]:
    return [(f"{hf}.weight", f"{ct2}/gamma", 0, 1), (f"{hf}.bias", f"{ct2}/beta", 0, 1)]


def _linear(ct2: str, hf: str, part: int = 0, parts: int = 1, bias: bool = True) -> list[tuple[str, str, int, int]]:
    return [(f"{hf}.weight", f"{ct2}/weight", part, parts)] + ([(f"{hf}.bias", f"{ct2}/bias", part, parts)] if bias else [])


def _attention(ct2: str, hf: str, fused: tuple[str, ...], first: int) -> list[tuple[str, str, int, int]]:
    """Projections fused into ``{ct2}/linear_{first}`` (rows stacked in ``fused`` order);
    Whisper's key projection has no bias (CTranslate2 stores zeros)."""
    return [entry for j, proj in enumerate(fused)
            for entry in _linear(f"{ct2}/linear_{first}", f"{hf}.{proj}", j, len(fused), bias=proj != "k_proj")]


def name_map(arrays: dict[str, np.ndarray]) -> list[tuple[str, str, int, int]]:
    """(transformers name, CTranslate2 name, part, parts) for every weight of a Whisper
    ``model.bin``: the transformers tensor is rows ``part`` of ``parts`` equal blocks of
    the CTranslate2 array. transformers' names are WhisperModel's (``encoder.*``,
    ``decoder.*``); the output projection is the token embedding (tied)."""
    entries = []
    for side in ("encoder", "decoder"):
        entries += [(f"{side}.embed_positions.weight", f"{side}/position_encodings/encodings", 0, 1)]
        entries += _norm(f"{side}/layer_norm", f"{side}.layer_norm")
        for i in range(_count(arrays, side)):
            src, dst = f"{side}/layer_{i}", f"{side}.layers.{i}"
            entries += _attention(f"{src}/self_attention", f"{dst}.self_attn", ("q_proj", "k_proj", "v_proj"), 0)
            entries += _linear(f"{src}/self_attention/linear_1", f"{dst}.self_attn.out_proj")
            entries += _norm(f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm")
            if side == "decoder":
                entries += _attention(f"{src}/attention", f"{dst}.encoder_attn", ("q_proj",), 0)
                entries += _attention(f"{src}/attention", f"{dst}.encoder_attn", ("k_proj", "v_proj"), 1)
                entries += _linear(f"{src}/attention/linear_2", f"{dst}.encoder_attn.out_proj")
                entries += _norm(f"{src}/attention/layer_norm", f"{dst}.encoder_attn_layer_norm")
            entries += _linear(f"{src}/ffn/linear_0", f"{dst}.fc1") + _linear(f"{src}/ffn/linear_1", f"{dst}.fc2")
            entries += _norm(f"{src}/ffn/layer_norm", f"{dst}.final_layer_norm")
    entries += _linear("encoder/conv1", "encoder.conv1") + _linear("encoder/conv2", "encoder.conv2")
    if "decoder/embeddings/weight" in arrays:
        entries += [("decoder.embed_tokens.weight", "decoder/embeddings/weight", 0, 1)]
    return entries


def _block(array: np.ndarray, part: int, parts: int) -> np.ndarray:
    rows = array.shape[0] // parts
    return array[part * rows:(part + 1) * rows]


def ctranslate2_state(ct2: CT2Model, prefix: str = "", only: str = "") -> dict[str, torch.Tensor]:
    """``ct2``'s weights as float32 tensors under transformers' names (``prefix`` before
    each; ``only``: names starting with it, e.g. ``"encoder."``)."""
    return {prefix + hf: torch.from_numpy(_block(ct2.arrays[src], part, parts).astype(np.float32))
            for hf, src, part, parts in name_map(ct2.arrays) if hf.startswith(only)}


def with_state(ct2: CT2Model, state: dict[str, torch.Tensor], prefix: str = "") -> CT2Model:
    """``ct2`` with every weight replaced by ``state``'s (transformers' names after
    ``prefix``), each stored in the dtype it had; the rest (config scalars, alignment
    heads) kept."""
    arrays = {name: np.array(a) for name, a in ct2.arrays.items()}
    for hf, src, part, parts in name_map(ct2.arrays):
        tensor = state.get(prefix + hf)
        if tensor is None:
            if hf.endswith("k_proj.bias"):
                continue  # zeros in CTranslate2, absent in transformers
            raise ModelLoadError(f"no weight {prefix + hf} to write to {src}")
        value = tensor.detach().cpu().float().numpy()
        target = _block(arrays[src], part, parts)
        if value.shape != target.shape:
            raise ModelLoadError(f"{prefix + hf}: shape {tuple(value.shape)} does not fit {src} {target.shape}")
        target[...] = value.astype(target.dtype)
    return replace(ct2, arrays=arrays)


def whisper_sizes(ct2: CT2Model) -> dict:
    """transformers' WhisperConfig fields for the model in ``ct2``."""
    t = ct2.arrays
    if ct2.spec != "WhisperSpec":
        raise ModelLoadError(f"a CTranslate2 {ct2.spec}, not a Whisper model")
    sizes = dict(d_model=t["encoder/conv1/weight"].shape[0], encoder_layers=_count(t, "encoder"),
                 encoder_attention_heads=int(t["encoder/num_heads"]),
                 encoder_ffn_dim=t["encoder/layer_0/ffn/linear_0/weight"].shape[0],
                 num_mel_bins=t["encoder/conv1/weight"].shape[1],
                 max_source_positions=t["encoder/position_encodings/encodings"].shape[0])
    if "decoder/embeddings/weight" in t:
        sizes.update(decoder_layers=_count(t, "decoder"), decoder_attention_heads=int(t["decoder/num_heads"]),
                     decoder_ffn_dim=t["decoder/layer_0/ffn/linear_0/weight"].shape[0],
                     vocab_size=t["decoder/embeddings/weight"].shape[0],
                     max_target_positions=t["decoder/position_encodings/encodings"].shape[0])
    return sizes


def ctranslate2_encoder(path: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """A CTranslate2 Whisper's encoder: its sizes (config fields) and its weights under
    transformers' names (``encoder.*``)."""
    ct2 = read_ctranslate2(Path(path) / "model.bin")
    if ct2.spec != "WhisperSpec":
        raise ModelLoadError(f"{path}: a CTranslate2 {ct2.spec}, not a Whisper model")
    sizes = {k: v for k, v in whisper_sizes(ct2).items() if not k.startswith("decoder") and k not in
             ("vocab_size", "max_target_positions")}
    return sizes, ctranslate2_state(ct2, only="encoder.")


def load_encoder_state(model: nn.Module, state: dict[str, torch.Tensor], path: str | Path) -> None:
    """``state`` (encoder weights) into ``model``, whose CTC head stays as it is."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("lm_head")]
    if missing or unexpected:
        raise ModelLoadError(f"{path}: CTranslate2 weights do not fit (missing {missing[:3]}, unexpected {unexpected[:3]})")


def encoder_digest(folder: str | Path) -> str:
    """A digest of a CTranslate2 Whisper's encoder variables (``encoder/...``): equal for an
    adapted writer whose encoder did not train."""
    h = hashlib.blake2b(digest_size=16)
    for name, array in read_ctranslate2(Path(folder) / "model.bin").arrays.items():
        if name.startswith("encoder/"):
            h.update(name.encode())
            h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()
