"""Choose the LM weight (alpha), word bonus (beta) and term boost on a dev set.

A small grid search over decodes of the same log-probabilities: the acoustic model
runs once, each setting only re-runs the beam search.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..constants import TUNE_ALPHAS, TUNE_BETAS, TUNE_TERM_WEIGHTS
from ..metrics import score
from .beam import BeamConfig, BeamDecoder



@dataclass(frozen=True)
class TuneResult:
    config: BeamConfig
    wer: float
    grid: tuple[dict, ...]  # every setting tried, with its WER


def tune_beam(decoder: BeamDecoder, logprobs: Sequence[np.ndarray], refs: Sequence[str], frame_shift: float,
              alphas: Sequence[float] = TUNE_ALPHAS, betas: Sequence[float] = TUNE_BETAS,
              hotword_weights: Sequence[float] | None = None, processes: int | None = None) -> TuneResult:
    """Grid-search on (logprobs, refs); ties go to the earlier (smaller) setting."""
    if hotword_weights is None:
        hotword_weights = TUNE_TERM_WEIGHTS if len(decoder.vocabulary) else (decoder.config.hotword_weight,)
    if not decoder.has_lm:
        alphas, betas = (decoder.config.alpha,), (decoder.config.beta,)
    return tune_grid(decoder, logprobs, refs, frame_shift, processes=processes, alpha=alphas, beta=betas,
                     hotword_weight=hotword_weights)


def tune_grid(decoder: BeamDecoder, logprobs: Sequence[np.ndarray], refs: Sequence[str], frame_shift: float,
              processes: int | None = None, **grid: Sequence) -> TuneResult:
    """Try every combination of the given :class:`BeamConfig` fields, e.g.
    ``tune_grid(d, lps, refs, 0.02, unk_score_offset=(-4, -10), spot_threshold=(None, 0.0))``;
    ties go to the earlier setting."""
    ids = [str(i) for i in range(len(refs))]
    names = list(grid)
    tried = []
    best: tuple[float, BeamConfig] | None = None
    for values in itertools.product(*(grid[n] for n in names)):
        candidate = decoder.with_changes(**dict(zip(names, values)))
        hyps = [h.text for h in candidate.decode_batch(logprobs, frame_shift, processes)]
        wer = score(ids, refs, hyps).wer
        tried.append({**dict(zip(names, values)), "wer": wer})
        if best is None or wer < best[0]:
            best = (wer, candidate.config)
    assert best is not None
    return TuneResult(best[1], best[0], tuple(tried))
