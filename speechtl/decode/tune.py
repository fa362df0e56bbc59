"""Choose the LM weight (alpha), word bonus (beta) and term boost on a dev set.

A small grid search over decodes of the same log-probabilities: the acoustic model
runs once, each setting only re-runs the beam search. A :class:`Guard` keeps out
settings that hurt other speech (the recipes: real general dev speakers).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from ..constants import TUNE_ALPHAS, TUNE_BETAS, TUNE_TERM_WEIGHTS
from ..metrics import score
from .beam import BeamConfig, BeamDecoder



@dataclass(frozen=True)
class TuneResult:
    config: BeamConfig
    wer: float
    grid: tuple[dict, ...]  # every setting tried, with its WER (and its guard WER)
    guard_wer: float | None = None  # the chosen setting's WER on the guard set


@dataclass(frozen=True)
class Guard:
    """General speech that tuned settings must not hurt: a setting whose WER on it is
    above ``max_wer`` is not chosen (when none passes, the one that hurts least is)."""

    logprobs: Sequence[np.ndarray]
    refs: Sequence[str]
    frame_shift: float
    max_wer: float

    def wer(self, decoder: BeamDecoder, processes: int | None = None) -> float:
        return _wer(decoder, self.logprobs, self.refs, self.frame_shift, processes)


def _wer(decoder: BeamDecoder, logprobs: Sequence[np.ndarray], refs: Sequence[str], frame_shift: float,
         processes: int | None) -> float:
    hyps = [h.text for h in decoder.decode_batch(logprobs, frame_shift, processes)]
    return score([str(i) for i in range(len(refs))], refs, hyps).wer


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
              processes: int | None = None, guard: Guard | None = None, tolerance: float = 0.0,
              **grid: Sequence) -> TuneResult:
    """Try every combination of the given :class:`BeamConfig` fields, e.g.
    ``tune_grid(d, lps, refs, 0.02, unk_score_offset=(-4, -10), spot_threshold=(None, 0.0))``.

    The chosen setting is the first (in grid order) whose WER is within ``tolerance``
    of the best: with grids ordered from mild to strong, a stronger setting must buy
    more than noise. With a ``guard``, only settings that pass it compete; when none
    does, the first that hurts the guard set least is chosen."""
    names = list(grid)
    results = []
    for values in itertools.product(*(grid[n] for n in names)):
        candidate = decoder.with_changes(**dict(zip(names, values)))
        wer = _wer(candidate, logprobs, refs, frame_shift, processes)
        guard_wer = None if guard is None else guard.wer(candidate, processes)
        results.append((dict(zip(names, values)), TuneResult(candidate.config, wer, (), guard_wer)))
    measured = [r for _, r in results]
    chosen = measured[choose([r.wer for r in measured], [r.guard_wer for r in measured],
                             None if guard is None else guard.max_wer, tolerance)]
    tried = tuple({**values, "wer": r.wer, **({} if r.guard_wer is None else {"guard_wer": r.guard_wer})}
                  for values, r in results)
    return replace(chosen, grid=tried)


def choose(wers: Sequence[float], guard_wers: Sequence[float | None], max_guard_wer: float | None,
           tolerance: float = 0.0) -> int:
    """Index of the setting to keep, of settings listed mild to strong: the first whose WER
    is within ``tolerance`` of the best among those whose guard WER is at most
    ``max_guard_wer`` (no guard: all compete); when none passes, the first that hurts
    the guard set least."""
    passing = [i for i, g in enumerate(guard_wers) if max_guard_wer is None or (g is not None and g <= max_guard_wer)]
    if passing:
        best = min(wers[i] for i in passing)
        return next(i for i in passing if wers[i] <= best + tolerance)
    return min(range(len(wers)), key=lambda i: guard_wers[i] if guard_wers[i] is not None else 0.0)
