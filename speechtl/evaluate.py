"""Score a model on a manifest and write icefall-style results files.

    speechtl evaluate --model runs/legal/best --manifest data/test.jsonl --output-dir runs/legal/eval

The acoustic model runs once per utterance; every decoding method (greedy, beam +
LM, beam + LM + terms) is scored on the same log-probabilities.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .data.manifest import ManifestEntry, Rejected, ValidationReport, load_entry, load_valid
from .decode.base import Decoder
from .decode.greedy import Hypothesis
from .decode.policy import Decoding
from .errors import AudioError
from .metrics import CorpusScore, TermReport, score, term_accuracy, write_results, write_term_report
from .model.chunked import DEFAULT_BATCH_SIZE, AcousticModel
from .model.loader import Bundle
from .vocabulary import Vocabulary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evaluation:
    score: CorpusScore
    terms: TermReport | None
    files: dict[str, Path]
    skipped: tuple[Rejected, ...] = ()  # entries whose audio could not be decoded


def entry_logprobs(bundle: Bundle, entries: Sequence[ManifestEntry], batch_size: int = DEFAULT_BATCH_SIZE,
                   device: torch.device | str | None = None, progress: bool = False,
                   int8: bool = False) -> list[np.ndarray]:
    """Log-probabilities of validated entries, in their order (long ones chunked);
    audio that cannot be decoded raises AudioError."""
    kept, logprobs, skipped = decodable_logprobs(bundle, entries, batch_size, device, progress, int8)
    if skipped:
        raise AudioError(skipped[0].reason)
    return logprobs


def decodable_logprobs(bundle: Bundle, entries: Sequence[ManifestEntry], batch_size: int = DEFAULT_BATCH_SIZE,
                       device: torch.device | str | None = None, progress: bool = False, int8: bool = False
                       ) -> tuple[list[ManifestEntry], list[np.ndarray], list[Rejected]]:
    """Like :func:`entry_logprobs`, but an entry whose audio fails to decode is skipped
    and listed: (kept entries, their log-probabilities, skipped)."""
    model = bundle.model
    was_training = model.training
    acoustic = AcousticModel(bundle, device=device or next(model.parameters()).device, batch_size=batch_size,
                              int8=int8)
    out: dict[str, np.ndarray] = {}
    skipped: list[Rejected] = []
    order = sorted(entries, key=lambda e: e.duration)  # similar lengths batch with little padding
    for i in tqdm(range(0, len(order), batch_size), desc="acoustic model", disable=None if progress else True,
                  leave=False):
        chunk, waves = [], []
        for e in order[i:i + batch_size]:
            try:
                waves.append(acoustic.check_length(load_entry(e, bundle.sampling_rate), e.audio_filepath))
                chunk.append(e)
            except AudioError as exc:
                skipped.append(Rejected(e.id, str(exc)))
        if chunk:
            out.update(zip((e.id for e in chunk), acoustic.logits(waves)))
    model.train(was_training)
    kept = [e for e in entries if e.id in out]
    return kept, [out[e.id] for e in kept], skipped


def evaluate_entries(bundle: Bundle, entries: Sequence[ManifestEntry], batch_size: int = DEFAULT_BATCH_SIZE,
                     device: torch.device | str | None = None, progress: bool = False,
                     decoding: Decoding | None = None) -> CorpusScore:
    """Decode validated entries (greedy unless ``decoding`` says otherwise) and score them."""
    decoding = decoding or Decoding(bundle.alphabet)
    hyps = decoding.texts(entry_logprobs(bundle, entries, batch_size, device, progress), bundle.frame_shift)
    return score([e.id for e in entries], [e.text for e in entries], hyps)


def evaluate_methods(bundle: Bundle, entries: Sequence[ManifestEntry], output_dir: str | os.PathLike[str],
                     set_name: str, methods: Mapping[str, Decoder], vocabulary: Vocabulary | None = None,
                     batch_size: int = DEFAULT_BATCH_SIZE, progress: bool = False,
                     logprobs: Sequence[np.ndarray] | None = None, int8: bool = False,
                     hypotheses: Mapping[str, Sequence[Hypothesis]] | None = None) -> dict[str, Evaluation]:
    """Score each decoding method on one pass of the acoustic model; write results files.

    With a ``vocabulary``, term recall/precision go into ``terms-{set}-{method}`` files.
    ``hypotheses``: decodes some methods already made of these ``logprobs``, by method.
    """
    skipped: list[Rejected] = []
    if logprobs is None:
        entries, logprobs, skipped = decodable_logprobs(bundle, entries, batch_size, progress=progress, int8=int8)
        if not entries:
            raise AudioError(f"no utterance could be decoded ({len(skipped)} failed; first: {skipped[0].reason})")
    ids, refs = [e.id for e in entries], [e.text for e in entries]
    results = {}
    waves = None
    for method, decoding in methods.items():
        if hypotheses is not None and method in hypotheses:
            hyps = [h.text for h in hypotheses[method]]
        else:
            if decoding.needs_audio and waves is None:  # (a two-pass decoding hears the audio too)
                waves = [load_entry(e, bundle.sampling_rate) for e in entries]
            hyps = decoding.texts(logprobs, bundle.frame_shift, waves if decoding.needs_audio else None)
        result = score(ids, refs, hyps)
        files = write_results(output_dir, set_name, method, result)
        terms = None
        if vocabulary is not None and len(vocabulary):
            terms = term_accuracy(result, vocabulary.phrases())
            files.update(write_term_report(output_dir, set_name, method, terms))
        results[method] = Evaluation(result, terms, files, tuple(skipped))
    return results


def evaluate_manifest(bundle: Bundle, manifest: str | os.PathLike[str], output_dir: str | os.PathLike[str],
                      set_name: str | None = None, decoding: Decoder | None = None,
                      method: str | None = None,
                      vocabulary: Vocabulary | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                      progress: bool = False, int8: bool = False, strict: bool = False
                      ) -> tuple[Evaluation, ValidationReport]:
    """Validate, decode and score one manifest with one method; ``strict`` fails on the
    first bad entry instead of skipping it."""
    validation = load_valid(manifest, bundle.alphabet, strict)
    decoding = decoding or Decoding(bundle.alphabet)
    method = method or decoding.name
    # strict: a decode failure raises here; otherwise evaluate_methods skips and lists it
    logprobs = entry_logprobs(bundle, validation.kept, batch_size, progress=progress, int8=int8) if strict else None
    ev = evaluate_methods(bundle, validation.kept, output_dir, set_name or Path(manifest).stem, {method: decoding},
                          vocabulary, batch_size, progress=progress, logprobs=logprobs, int8=int8)[method]
    return ev, validation
