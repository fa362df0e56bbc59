"""Which checkpoint a recipe adapts when it is told ``auto``.

    resolve_base("auto", preset="cpu")   # -> "general", the shipped model
"""

from __future__ import annotations

from ..errors import ModelLoadError, SpeechtlError
from .offline import GENERAL, GENERAL_DIR, OVERLAY_FILE

HUB_BASE = "facebook/wav2vec2-base-960h"
GENERAL_BASE = GENERAL  # the general-English CTC model shipped in the package (recipes/general rebuilds it)


def resolve_base(base: str, preset: str) -> str:
    """The checkpoint to adapt. ``auto``: the shipped general model, or on the GPU preset
    wav2vec2-base-960h where the hub can be reached (the general recipe names Whisper
    base's encoder itself). Anything else is kept."""
    if base == "auto" and preset == "gpu":
        try:
            from .loader import load_pretrained

            load_pretrained(HUB_BASE)
            return HUB_BASE
        except ModelLoadError as exc:
            print(f"{exc}\nusing the shipped general model instead", flush=True)
    if base in ("auto", GENERAL_BASE):
        if not (GENERAL_DIR / OVERLAY_FILE).is_file():
            raise SpeechtlError(f"the shipped general model is missing from {GENERAL_DIR}: reinstall speechtl "
                                f"or rebuild it with `python recipes/general/train.py`")
        return GENERAL_BASE
    return base
