"""Load a pretrained Wav2Vec2-family checkpoint and fit its CTC head to an alphabet.

    bundle = load_pretrained("facebook/wav2vec2-base-960h")     # hub id
    bundle = load_pretrained("/models/my-wav2vec2")              # local HF folder
    bundle = load_pretrained("general")                           # offline names: see offline.py

The checkpoint's CTC head keeps the rows of characters it already knew (matched by
character, letters case-blind); only characters new to it get fresh rows. An
encoder-only checkpoint (no head) gets a fresh head.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..alphabet import Alphabet, match_symbol
from ..constants import SAMPLE_RATE
from ..errors import ModelLoadError
from ..fileio import atomic_dir
from .bundle import Bundle
from .adapters import family_of
from .family import WHISPER, unwrap

log = logging.getLogger(__name__)

# model_type in config.json -> the transformers class with a CTC head.
CTC_CLASSES: dict[str, str] = {
    "wav2vec2": "Wav2Vec2ForCTC",
    "hubert": "HubertForCTC",
    "wavlm": "WavLMForCTC",
    "data2vec-audio": "Data2VecAudioForCTC",
    "wav2vec2-conformer": "Wav2Vec2ConformerForCTC",
}
SPEECHTL_META = "speechtl.json"


def ctc_class(model_type: str) -> type:
    import transformers

    name = CTC_CLASSES.get(model_type)
    if name is None:
        raise ModelLoadError(
            f"model type {model_type!r} is not a supported CTC family "
            f"(supported: {', '.join(sorted(CTC_CLASSES))})"
        )
    return getattr(transformers, name)


def load_pretrained(
    name_or_path: str | os.PathLike[str],
    alphabet: Alphabet | None = None,
    *,
    config_overrides: dict[str, Any] | None = None,
    cache_dir: str | None = None,
    inference: bool = False,
) -> Bundle:
    """Load ``name_or_path`` (hub id or folder) with a CTC head over ``alphabet``.

    ``alphabet`` defaults to the checkpoint's own speechtl alphabet when it has one,
    else to :meth:`Alphabet.default`. ``config_overrides`` set config fields such as
    ``mask_time_prob`` or ``layerdrop`` before the weights load. ``inference``: the model
    will only run (transcribe, evaluate), so a Whisper-encoder model (a CTranslate2
    Whisper, a shipped model, a saved speechtl folder) loads as the same network in plain
    torch (model/whisper_net.py), without transformers' seconds of imports; it cannot be
    trained or saved.
    """
    from . import offline, whisper_net
    from .ct2_format import is_ctranslate2_whisper

    source = str(name_or_path)
    named = offline.resolve_offline(source)
    if named is not None:
        source = str(named)
    check_source(source)
    if (Path(source) / offline.OVERLAY_FILE).is_file():  # a shipped model: an overlay over its base
        base, shipped = offline.overlay_base(source)
        bundle = offline.apply_overlay(load_pretrained(base, shipped, inference=inference), source)
        if alphabet is not None and alphabet.symbols != bundle.alphabet.symbols:
            old_vocab = {s: i for i, s in enumerate(bundle.alphabet.symbols)}
            kept = resize_ctc_head(bundle.model, alphabet, old_vocab)
            bundle = Bundle(bundle.model, alphabet, bundle.sampling_rate, kept, len(alphabet) - kept)
        _override(bundle.model.config, config_overrides)
        return bundle
    if is_ctranslate2_whisper(source):
        alphabet = alphabet or Alphabet.default()
        if inference:
            model = whisper_net.load_ctranslate2_net(source, len(alphabet), alphabet.blank_id)
        else:
            from . import whisper

            model = whisper.load_ctranslate2_whisper(source, len(alphabet), alphabet.blank_id)
        _override(model.config, config_overrides)
        return Bundle(model, alphabet, SAMPLE_RATE, kept_rows=0, new_rows=len(alphabet))
    if inference and _is_speechtl(source) and _model_type(source) == WHISPER:
        old_vocab = _checkpoint_vocab(source, cache_dir)
        try:
            model = whisper_net.load_net_folder(source)
        except Exception as exc:  # truncated or corrupt weights come in many exception types
            raise ModelLoadError(_not_found_message(source, exc)) from None
        _override(model.config, config_overrides)
        alphabet = alphabet or Alphabet.from_vocab(old_vocab)
        kept = resize_ctc_head(model, alphabet, old_vocab)  # (the same rows when the alphabet is the model's)
        return Bundle(model, alphabet, SAMPLE_RATE, kept_rows=kept, new_rows=len(alphabet) - kept)
    from transformers import AutoConfig

    from . import whisper

    try:
        config = AutoConfig.from_pretrained(source, cache_dir=cache_dir)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(_not_found_message(source, exc)) from None
    if config.model_type == WHISPER and not _is_speechtl(source):
        alphabet = alphabet or Alphabet.default()
        try:
            model = whisper.load_hf_whisper_encoder(source, len(alphabet), alphabet.blank_id, cache_dir)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(_not_found_message(source, exc)) from None
        _override(model.config, config_overrides)
        return Bundle(model, alphabet, SAMPLE_RATE, kept_rows=0, new_rows=len(alphabet))
    cls = whisper.WhisperForCTC if config.model_type == WHISPER else ctc_class(config.model_type)
    old_vocab = _checkpoint_vocab(source, cache_dir)
    if alphabet is None:
        alphabet = Alphabet.from_vocab(old_vocab) if _is_speechtl(source) else Alphabet.default()
    _override(config, config_overrides)
    try:
        model, info = cls.from_pretrained(source, config=config, cache_dir=cache_dir, output_loading_info=True)
    except Exception as exc:  # truncated or corrupt weights come in many exception types
        raise ModelLoadError(_not_found_message(source, exc)) from None
    has_head = not any(k.startswith("lm_head") for k in info.get("missing_keys", []))
    if not has_head:
        log.info("%s has no CTC head: all %d rows start fresh", source, len(alphabet))
        old_vocab = {}
    elif not old_vocab:
        log.warning("%s has a CTC head but no vocab.json: its rows cannot be matched, all start fresh", source)
    kept = resize_ctc_head(model, alphabet, old_vocab)
    return Bundle(model, alphabet, _sampling_rate(source, cache_dir), kept_rows=kept, new_rows=len(alphabet) - kept)


def _override(config, overrides: dict[str, Any] | None) -> None:
    for key, value in (overrides or {}).items():
        setattr(config, key, value)


def resize_ctc_head(model: nn.Module, alphabet: Alphabet, old_vocab: dict[str, int]) -> int:
    """Give ``model`` a head over ``alphabet``, copying rows of known characters.

    Returns how many rows were copied. New rows follow the model's own init
    (normal with ``initializer_range``, zero bias), as an untrained head would.
    """
    old = model.lm_head
    new = nn.Linear(old.in_features, len(alphabet), bias=old.bias is not None)
    std = getattr(model.config, "initializer_range", 0.02)
    kept = 0
    with torch.no_grad():
        new.weight.normal_(0.0, std)
        if new.bias is not None:
            new.bias.zero_()
        for new_id, symbol in enumerate(alphabet.symbols):
            old_id = match_symbol(symbol, old_vocab)
            if old_id is None or old_id >= old.out_features:
                continue
            new.weight[new_id] = old.weight[old_id]
            if new.bias is not None:
                new.bias[new_id] = old.bias[old_id]
            kept += 1
    model.lm_head = new.to(old.weight.device, old.weight.dtype)
    setattr(model.config, family_of(model).vocab_size_field, len(alphabet))
    model.config.pad_token_id = alphabet.blank_id
    return kept


def save_bundle(bundle: Bundle, directory: str | os.PathLike[str], extra_meta: dict[str, Any] | None = None) -> Path:
    """Save model + processor in Hugging Face layout, atomically.

    The folder reloads with ``Wav2Vec2ForCTC.from_pretrained`` and
    ``Wav2Vec2Processor.from_pretrained`` as well as with :func:`load_pretrained`.
    Replacing a folder keeps what was attached to it and is not the model's own
    (``build-lm --attach-to``'s ``language_model/`` and ``decoding.json``, the terms,
    ``two-pass.json``): a better checkpoint from a longer run never deletes its LM.
    """
    directory = Path(directory)
    with atomic_dir(directory) as tmp:
        model = unwrap(bundle.model)
        model.save_pretrained(str(tmp))
        bundle.alphabet.save(tmp)
        family_of(model).save_processor(model, tmp, bundle.sampling_rate, bundle.uses_attention_mask)
        meta = {"format": "speechtl-ctc", "version": 1, "family": bundle.family,
                "sampling_rate": bundle.sampling_rate}
        meta.update(extra_meta or {})
        (tmp / SPEECHTL_META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        _keep_attached(directory, tmp)
    return directory


def _keep_attached(old: Path, new: Path) -> list[str]:
    """Copy what ``old`` holds and ``new`` does not into ``new``; return the names."""
    kept = []
    for item in sorted(old.iterdir()) if old.is_dir() else []:
        if item.name.startswith(".") or (new / item.name).exists():
            continue
        shutil.copytree(item, new / item.name) if item.is_dir() else shutil.copy2(item, new / item.name)
        kept.append(item.name)
    return kept


def _is_speechtl(source: str) -> bool:
    return (Path(source) / SPEECHTL_META).is_file()


def _model_type(folder: str) -> str | None:
    try:
        return json.loads((Path(folder) / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None


def _checkpoint_vocab(source: str, cache_dir: str | None) -> dict[str, int]:
    """The checkpoint's tokenizer vocabulary, or {} when it ships none."""
    path = Path(source)
    if path.is_dir():
        vocab_file = path / "vocab.json"
        if not vocab_file.is_file():
            return {}
        try:
            vocab = json.loads(vocab_file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelLoadError(f"{vocab_file}: corrupt vocabulary ({exc})") from None
        if not isinstance(vocab, dict):
            raise ModelLoadError(f"{vocab_file}: corrupt vocabulary (not a JSON object)")
        return vocab
    try:
        from huggingface_hub import hf_hub_download

        return json.loads(Path(hf_hub_download(source, "vocab.json", cache_dir=cache_dir)).read_text())
    except Exception:  # no vocab.json in the repo: an encoder-only checkpoint
        return {}


HUB_HOST = "huggingface.co"
HUB_TIMEOUT_S = 3.0


def looks_like_path(source: str) -> bool:
    """A folder name rather than a hub id ("org/name"): absolute, relative with ./ or ../,
    home-relative, with a trailing slash, or more than one slash."""
    return (os.path.isabs(source) or source.startswith((".", "~")) or source.endswith(("/", os.sep))
            or source.count("/") > 1 or (os.sep != "/" and os.sep in source))


def check_source(source: str) -> None:
    """Fail at once, with the reason, for a folder that is not there or a hub that cannot
    be reached, instead of after transformers' retries."""
    if Path(source).exists():
        if not Path(source).is_dir():
            raise ModelLoadError(f"{source}: a file, not a model folder")
        return
    if looks_like_path(source):
        raise ModelLoadError(f"{source}: no such model folder")
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        if not _in_hub_cache(source):
            raise ModelLoadError(_not_found_message(source, OSError("HF_HUB_OFFLINE is set")))
        return
    import socket

    try:
        socket.create_connection((HUB_HOST, 443), timeout=HUB_TIMEOUT_S).close()
    except OSError:
        if not _in_hub_cache(source):
            raise ModelLoadError(_not_found_message(source, OSError(f"{HUB_HOST} cannot be reached"))) from None


def _in_hub_cache(source: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(source, "config.json"), str)
    except Exception:
        return False


def _sampling_rate(source: str, cache_dir: str | None) -> int:
    try:
        from transformers import AutoFeatureExtractor

        return int(AutoFeatureExtractor.from_pretrained(source, cache_dir=cache_dir).sampling_rate)
    except Exception:
        return SAMPLE_RATE


def _not_found_message(source: str, exc: Exception) -> str:
    if Path(source).exists():
        return f"{source}: not a loadable checkpoint folder ({str(exc).splitlines()[0]})"
    return (
        f"cannot load {source!r}: it is not a local folder and the Hugging Face hub could not provide it "
        f"(offline, or not in the cache). On a machine with internet run "
        f"`huggingface-cli download {source} --local-dir DIR`, copy DIR here and pass its path instead "
        f"(or set HF_HOME to a cache that holds it)."
    )
