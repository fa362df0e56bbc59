"""How log-probabilities become text: one decoding policy for every caller.

    decoding = choose_decoding(bundle.alphabet, "runs/legal/model/best")   # its tuned LM + terms
    decoding = Decoding(bundle.alphabet)                                    # greedy
    hyps = decoding.decode(logprobs, bundle.frame_shift)

The CLI, ``evaluate``, :class:`~speechtl.transcribe.Transcriber` and the recipes all
take a :class:`Decoding`, so "greedy, or beam search with this LM, these terms and
these settings" is decided in one place (:func:`choose_decoding`), and so is which
terms a report scores (:func:`terms_to_score`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Literal, Sequence

import numpy as np

from ..alphabet import Alphabet
from ..vocabulary import Vocabulary
from .beam import BeamDecoder
from .greedy import Hypothesis, greedy_decode

Mode = Literal["auto", "greedy", "beam"]
KEEP = "keep"  # spot_threshold: leave the decoder's own setting


@dataclass(frozen=True)
class Decoding:
    """Greedy when ``beam`` is None; else beam search with ``beam``'s LM, terms and
    settings, its searches in ``processes`` forked workers when that is above 1.
    A :class:`~speechtl.decode.base.Decoder`."""

    alphabet: Alphabet
    beam: BeamDecoder | None = None
    processes: int | None = None

    @property
    def name(self) -> str:
        if self.beam is None:
            return "greedy"
        return "beam-lm" if self.beam.has_lm else "beam"

    @property
    def needs_audio(self) -> bool:
        return False

    def decode(self, logprobs: Sequence[np.ndarray], frame_shift: float,
               waves: Sequence[np.ndarray] | None = None) -> list[Hypothesis]:
        """(``waves`` are not needed: see decode/base.Decoder.)"""
        if self.beam is None:
            return [greedy_decode(lp, self.alphabet, frame_shift) for lp in logprobs]
        return self.beam.decode_batch(logprobs, frame_shift, self.processes)

    def texts(self, logprobs: Sequence[np.ndarray], frame_shift: float,
              waves: Sequence[np.ndarray] | None = None) -> list[str]:
        return [h.text for h in self.decode(logprobs, frame_shift)]

    def with_processes(self, processes: int | None) -> Decoding:
        return replace(self, processes=processes)

    def with_changes(self, **changes) -> Decoding:
        """Other beam-search settings (BeamDecoder.with_changes: the LM stays loaded)."""
        assert self.beam is not None, "greedy decoding has no settings"
        return replace(self, beam=self.beam.with_changes(**changes))


def choose_decoding(alphabet: Alphabet, model_dir: str | os.PathLike[str] | None = None, mode: Mode = "auto",
                    lm: str | os.PathLike[str] | None = None, vocabulary: Vocabulary | None = None,
                    beam_width: int | None = None, spot_threshold: float | None | str = KEEP,
                    processes: int | None = None) -> Decoding:
    """The decoding a user asks for.

    ``greedy``: greedy. ``auto``: the decoder saved with the model (its LM, terms and
    tuned settings; ``vocabulary`` joins its terms) when there is one, else beam
    search when an ``lm`` or ``vocabulary`` is given, else greedy. ``beam``: beam search
    even without an LM. An ``lm`` replaces the model's own decoder."""
    if mode == "greedy":
        return Decoding(alphabet, None, processes)
    saved = BeamDecoder.load(model_dir, vocabulary) if model_dir is not None and lm is None else None
    if saved is None and lm is None and mode == "auto" and vocabulary is None:
        return Decoding(alphabet, None, processes)
    beam = saved or BeamDecoder(alphabet, lm, vocabulary)
    if beam_width:
        beam = beam.with_changes(beam_width=beam_width)
    if spot_threshold != KEEP:
        beam = beam.with_changes(spot_threshold=spot_threshold)
    return Decoding(alphabet, beam, processes)


def terms_to_score(decoding: Decoding, given: Vocabulary | None = None) -> Vocabulary | None:
    """The terms a report scores: those the user gave, else those the decoding boosts."""
    if given is not None and len(given):
        return given
    if decoding.beam is not None and len(decoding.beam.vocabulary):
        return decoding.beam.vocabulary
    return None
