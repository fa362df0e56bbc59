"""speechtl: adapt pretrained speech recognizers to a domain's vocabulary.

    from speechtl import load_pretrained, FreezePolicy, TrainConfig, train, Transcriber
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# Public names -> the module that defines them. Imported on first use, so
# `import speechtl` stays fast and does not pull in torch for the text tools.
_EXPORTS = {
    "normalize": "speechtl.text",
    "Alphabet": "speechtl.alphabet",
    "ManifestEntry": "speechtl.data.manifest",
    "read_manifest": "speechtl.data.manifest",
    "write_manifest": "speechtl.data.manifest",
    "validate": "speechtl.data.manifest",
    "load_audio": "speechtl.data.audio",
    "load_pretrained": "speechtl.model.loader",
    "save_bundle": "speechtl.model.loader",
    "Bundle": "speechtl.model.bundle",
    "AcousticModel": "speechtl.model.chunked",
    "FreezePolicy": "speechtl.model.freeze",
    "TrainConfig": "speechtl.training",
    "train": "speechtl.training",
    "Transcriber": "speechtl.transcribe",
    "Vocabulary": "speechtl.vocabulary",
    "BeamDecoder": "speechtl.decode.beam",
    "Decoding": "speechtl.decode.policy",
    "choose_decoding": "speechtl.decode.policy",
    "TwoPass": "speechtl.decode.twopass",
    "TwoPassConfig": "speechtl.decode.twopass_config",
    "load_two_pass": "speechtl.decoders",
    "evaluate_manifest": "speechtl.evaluate",
    "score": "speechtl.metrics",
    "SpeechtlError": "speechtl.errors",
}
__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'speechtl' has no attribute {name!r}")
