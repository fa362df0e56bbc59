"""Choose the LM weight (alpha), word bonus (beta) and term boost on a dev set.

A small grid search over decodes of the same log-probabilities: the acoustic model
runs once, each setting only re-runs the beam search.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..metrics import score
from .beam import BeamConfig, BeamDecoder

DEFAULT_ALPHAS = (0.2, 0.5, 0.8, 1.2)
DEFAULT_BETAS = (0.0, 1.0, 2.0)
DEFAULT_HOTWORD_WEIGHTS = (1.5, 3.0, 6.0)


@dataclass(frozen=True)
class TuneResult:
    config: BeamConfig
    wer: float
    grid: tuple[dict, ...]  # every setting tried, with its WER


def tune_beam(decoder: BeamDecoder, logprobs: Sequence[np.ndarray], refs: Sequence[str], frame_shift: float,
              alphas: Sequence[float] = DEFAULT_ALPHAS, betas: Sequence[float] = DEFAULT_BETAS,
              hotword_weights: Sequence[float] | None = None, processes: int | None = None) -> TuneResult:
    """Grid-search on (logprobs, refs); ties go to the earlier (smaller) setting."""
    if hotword_weights is None:
        hotword_weights = DEFAULT_HOTWORD_WEIGHTS if len(decoder.vocabulary) else (decoder.config.hotword_weight,)
    if not decoder.has_lm:
        alphas, betas = (decoder.config.alpha,), (decoder.config.beta,)
    ids = [str(i) for i in range(len(refs))]
    grid = []
    best: tuple[float, BeamConfig] | None = None
    for alpha, beta, weight in itertools.product(alphas, betas, hotword_weights):
        candidate = decoder.with_changes(alpha=alpha, beta=beta, hotword_weight=weight)
        hyps = [h.text for h in candidate.decode_batch(logprobs, frame_shift, processes)]
        wer = score(ids, refs, hyps).wer
        grid.append({"alpha": alpha, "beta": beta, "hotword_weight": weight, "wer": wer})
        if best is None or wer < best[0]:
            best = (wer, candidate.config)
    assert best is not None
    return TuneResult(best[1], best[0], tuple(grid))
