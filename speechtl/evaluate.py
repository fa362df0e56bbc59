"""Score a model on a manifest and write icefall-style results files.

    speechtl evaluate --model runs/legal/best --manifest data/test.jsonl --output-dir runs/legal/eval
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from typing import Sequence

import torch
from tqdm.auto import tqdm

from .data.audio import load_audio
from .data.manifest import ManifestEntry, ValidationReport, read_manifest, validate
from .decode.greedy import greedy_decode
from .errors import ManifestError
from .metrics import CorpusScore, score, write_results
from .model.inference import batch_logits
from .model.loader import Bundle

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evaluation:
    score: CorpusScore
    validation: ValidationReport
    files: dict[str, Path]


def evaluate_manifest(bundle: Bundle, manifest: str | os.PathLike[str], output_dir: str | os.PathLike[str],
                      set_name: str | None = None, method: str = "greedy", batch_size: int = 8,
                      progress: bool = False) -> Evaluation:
    """Validate, greedy-decode and score ``manifest``; bad entries are dropped and listed."""
    validation = validate(read_manifest(manifest), bundle.alphabet, on_error="drop")
    for r in validation.rejected:
        log.warning("skipped %s: %s", r.id, r.reason)
    if not validation.kept:
        raise ManifestError(f"{manifest}: no usable utterances ({len(validation.rejected)} rejected)")
    result = evaluate_entries(bundle, validation.kept, batch_size, progress=progress)
    set_name = set_name or Path(manifest).stem
    return Evaluation(result, validation, write_results(output_dir, set_name, method, result))


def evaluate_entries(bundle: Bundle, entries: Sequence[ManifestEntry], batch_size: int = 8,
                     device: torch.device | None = None, progress: bool = False):
    """Greedy-decode validated entries; return the corpus score."""
    model = bundle.model
    was_training = model.training
    model.eval()
    hyps: dict[str, str] = {}
    order = sorted(entries, key=lambda e: e.duration)  # similar lengths batch with little padding
    for i in tqdm(range(0, len(order), batch_size), desc="eval", disable=None if progress else True, leave=False):
        chunk = order[i:i + batch_size]
        waves = [load_audio(e.audio_filepath, bundle.sampling_rate, e.offset, e.duration if e.offset else None)
                 for e in chunk]
        for e, lp in zip(chunk, batch_logits(bundle, waves, device)):
            hyps[e.id] = greedy_decode(lp, bundle.alphabet, bundle.frame_shift).text
    model.train(was_training)
    return score([e.id for e in entries], [e.text for e in entries], [hyps[e.id] for e in entries])
