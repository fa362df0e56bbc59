"""What a decoder is, for every caller: log-probabilities in, hypotheses with word times out.

    hyps = decoder.decode(logprobs, bundle.frame_shift, waves if decoder.needs_audio else None)

Greedy and beam search (decode/policy.Decoding) read only the CTC model's
log-probabilities; the two-pass (decode/twopass.TwoPass) also hears the audio, through
a :class:`Recognizer` (Whisper). Callers ask ``needs_audio`` instead of the decoder's
type, and a recording of any length goes through the same ``decode``.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from .greedy import Hypothesis


class Decoder(Protocol):
    @property
    def name(self) -> str:
        """The method's name in reports ("greedy", "beam-lm", "two-pass", ...)."""

    @property
    def needs_audio(self) -> bool:
        """Whether :meth:`decode` needs ``waves`` (16 kHz mono, one per utterance)."""

    def decode(self, logprobs: Sequence[np.ndarray], frame_shift: float,
               waves: Sequence[np.ndarray] | None = None) -> list[Hypothesis]:
        """One hypothesis per utterance; ``frame_shift``: seconds per log-probability frame."""

    def texts(self, logprobs: Sequence[np.ndarray], frame_shift: float,
              waves: Sequence[np.ndarray] | None = None) -> list[str]:
        """The hypotheses' texts."""


class Transcription(Protocol):
    text: str


class Segment(Protocol):
    start: float  # seconds
    end: float  # seconds
    text: str


class Recognizer(Protocol):
    """A whole recognizer that writes text from audio (model/seq2seq.WhisperRecognizer):
    the two-pass's writer and judge."""

    name: str

    @property
    def loaded(self) -> bool:
        """Whether its threads run (work that forks processes must come before)."""

    def transcribe(self, wave: np.ndarray, hotwords: str | None = None, timestamps: bool = False,
                   fallback: bool = False) -> Transcription:
        """One clip's text; ``timestamps``: decoded with timestamp tokens (going on from the
        last where it ends early); ``fallback``: a repetition loop sampled again."""

    def transcribe_many(self, waves: Sequence[np.ndarray], hotwords: Sequence[str | None] | None = None,
                        timestamps: bool = False) -> Sequence[Transcription]:
        """:meth:`transcribe` of each clip (one prompt each), with the same results, in batches where it can."""

    def score(self, wave: np.ndarray, texts: Sequence[str], hotwords: str | None = None) -> list[float]:
        """Each text's log-probability for this audio."""

    def nbest(self, wave: np.ndarray, n: int, hotwords: str | None = None) -> list[tuple[str, float]]: ...

    def nbest_many(self, waves: Sequence[np.ndarray], n: int,
                   hotwords: Sequence[str | None]) -> list[list[tuple[str, float]]]:
        """:meth:`nbest` of each clip (one prompt each), in batches where it can."""

    def long_segments(self, wave: np.ndarray) -> Sequence[Segment]:
        """Its own long-form decoding of a recording of any length."""
