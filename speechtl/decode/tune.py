"""Choose a decoder's settings on a dev set: one search for every decoder.

    chosen, rows = tune_settings(decoding, grid(alpha=(0.2, 0.5), beta=(0, 1)), dev, guard, max_guard_wer)
    chosen, rows = tune_settings(two_pass, [{"top_terms": 0}, {"top_terms": 8}], dev, guard, max_guard_wer)

Settings are declared (a list of changes, or :func:`grid`'s combinations), scored on
the same log-probabilities (the acoustic model runs once; each setting re-runs only
the decoding), and :func:`choose` keeps the first within tolerance of the best among
those that do not hurt the guard set (the recipes: real general dev speakers).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np
from tqdm.auto import tqdm

from ..constants import TUNE_ALPHAS, TUNE_BETAS, TUNE_TERM_WEIGHTS
from ..metrics import score
from .base import Decoder
from .beam import BeamConfig, BeamDecoder
from .policy import Decoding


@dataclass(frozen=True)
class DevSet:
    """Utterances a setting is scored on: the CTC log-probabilities, their references, and
    the audio for a decoder that hears it (decode/base.Decoder.needs_audio)."""

    logprobs: Sequence[np.ndarray]
    refs: Sequence[str]
    frame_shift: float
    waves: Sequence[np.ndarray] | None = None

    def wer(self, decoder: Decoder) -> float:
        hyps = decoder.texts(self.logprobs, self.frame_shift, self.waves if decoder.needs_audio else None)
        return score([str(i) for i in range(len(self.refs))], self.refs, hyps).wer


class Tunable(Decoder, Protocol):
    def with_changes(self, **changes) -> "Tunable":
        """The same decoder with other settings (sharing what is loaded and memoized)."""


@dataclass(frozen=True)
class Setting:
    changes: dict  # the fields changed from the decoder tuned
    decoder: Decoder
    wer: float
    guard_wer: float | None = None


def tune_settings(decoder: Tunable, settings: Sequence[dict], dev: DevSet, guard: DevSet | None = None,
                  max_guard_wer: float | None = None, tolerance: float = 0.0,
                  progress: str | None = None) -> tuple[Setting, list[Setting]]:
    """Score each of ``settings`` (changes to ``decoder``, listed mild to strong) on ``dev``
    and the ``guard`` set; returns the one :func:`choose` keeps and every one measured.
    Any decoder with ``with_changes`` is tuned here: beam search (its LM weight, word
    bonus, terms, spotting) and the two-pass (its prompt, rescoring, spotting, judge)."""
    rows = []
    for changes in tqdm(settings, desc=progress, disable=None if progress else True, leave=False):
        candidate = decoder.with_changes(**changes)
        rows.append(Setting(dict(changes), candidate, dev.wer(candidate),
                            None if guard is None else guard.wer(candidate)))
    return rows[choose([r.wer for r in rows], [r.guard_wer for r in rows], max_guard_wer, tolerance)], rows


def grid(**values: Sequence) -> list[dict]:
    """Every combination of the given fields' values, the last field varying fastest:
    ``grid(alpha=(0.2, 0.5), beta=(0, 1))`` -> 4 settings."""
    names = list(values)
    return [dict(zip(names, combo)) for combo in itertools.product(*(values[n] for n in names))]


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
        return DevSet(self.logprobs, self.refs, self.frame_shift).wer(Decoding(decoder.alphabet, decoder, processes))


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
              **values: Sequence) -> TuneResult:
    """Try every combination of the given :class:`BeamConfig` fields, e.g.
    ``tune_grid(d, lps, refs, 0.02, unk_score_offset=(-4, -10), spot_threshold=(None, 0.0))``
    (:func:`tune_settings` over :func:`grid`, for a beam decoder).

    The chosen setting is the first (in grid order) whose WER is within ``tolerance``
    of the best: with grids ordered from mild to strong, a stronger setting must buy
    more than noise. With a ``guard``, only settings that pass it compete; when none
    does, the first that hurts the guard set least is chosen."""
    guard_set = None if guard is None else DevSet(guard.logprobs, guard.refs, guard.frame_shift)
    chosen, rows = tune_settings(Decoding(decoder.alphabet, decoder, processes), grid(**values),
                                 DevSet(logprobs, refs, frame_shift), guard_set,
                                 None if guard is None else guard.max_wer, tolerance)
    tried = tuple({**r.changes, "wer": r.wer, **({} if r.guard_wer is None else {"guard_wer": r.guard_wer})}
                  for r in rows)
    beam = chosen.decoder.beam  # type: ignore[attr-defined]
    return TuneResult(beam.config, chosen.wer, tried, chosen.guard_wer)


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
