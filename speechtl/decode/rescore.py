"""Whisper's N best hypotheses rescored with the domain's n-gram LM and terms (text only,
no training).

Whisper's beam keeps sentences it finds likely; the one it ranks first is often a
general-English spelling of a domain phrase ("rehearing on bunk") while a lower one has
the term ("rehearing en banc"). Each hypothesis ``h`` is scored

    whisper(h) + lm_weight * ln P_LM(h) + word_bonus * words(h) + term_bonus * terms(h)

with ``whisper(h)`` Whisper's log-probability of the sentence, ``P_LM`` the recipe's KenLM
model (the same one the CTC beam search uses) over the normalized words, and ``terms(h)``
how many of the vocabulary's phrases it holds. The best one wins. With every weight at 0
it is Whisper's own best.

    rescorer = NBestRescorer("runs/legal/model/best/language_model/legal.arpa", vocabulary,
                             RescoreConfig(lm_weight=0.3, term_bonus=2.0))
    text = rescorer.best([("Rehearing on bunk.", -4.1), ("Rehearing en banc.", -5.0)])
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..text import normalize
from ..vocabulary import Vocabulary
from .beam import load_kenlm

DEFAULT_NBEST = 5  # hypotheses Whisper returns per clip (its beam is at least this wide)
DEFAULT_LM_WEIGHT = 0.0
DEFAULT_WORD_BONUS = 0.0
DEFAULT_TERM_BONUS = 0.0
LN_10 = math.log(10.0)  # KenLM scores are log10


@dataclass(frozen=True)
class RescoreConfig:
    lm_weight: float = DEFAULT_LM_WEIGHT  # per nat of the LM's log-probability
    word_bonus: float = DEFAULT_WORD_BONUS  # per word (offsets the LM's preference for short sentences)
    term_bonus: float = DEFAULT_TERM_BONUS  # per vocabulary phrase the hypothesis holds

    @property
    def is_off(self) -> bool:
        return self.lm_weight == self.word_bonus == self.term_bonus == 0


class NBestRescorer:
    """Picks the best of Whisper's hypotheses under the domain LM and terms."""

    def __init__(self, lm, vocabulary: Vocabulary | None = None, config: RescoreConfig = RescoreConfig()) -> None:
        """``lm``: a KenLM file, a model already loaded (a beam decoder's ``kenlm_model``) or None."""
        self._lm = load_kenlm(Path(lm)) if isinstance(lm, (str, os.PathLike)) else lm
        self.config = config
        self._phrases = [tuple(p) for p in (vocabulary.phrases() if vocabulary is not None else {})]

    def with_config(self, config: RescoreConfig) -> "NBestRescorer":
        """The same LM and terms under other weights (tuning tries many)."""
        other = copy.copy(self)
        other.config = config
        return other

    def score(self, text: str, whisper_logprob: float) -> float:
        words = normalize(text).split()
        c = self.config
        total = whisper_logprob + c.word_bonus * len(words) + c.term_bonus * self.terms_in(words)
        if c.lm_weight and self._lm is not None:
            total += c.lm_weight * LN_10 * self._lm.score(" ".join(words), bos=True, eos=True)
        return total

    def terms_in(self, words: Sequence[str]) -> int:
        """How many vocabulary phrases occur in ``words`` (each occurrence counts)."""
        count = 0
        for phrase in self._phrases:
            n = len(phrase)
            count += sum(1 for i in range(len(words) - n + 1) if tuple(words[i:i + n]) == phrase)
        return count

    def best(self, nbest: Sequence[tuple[str, float]]) -> str:
        """The hypothesis with the highest combined score; Whisper's order breaks ties.
        ``nbest``: (text, Whisper's log-probability of it), Whisper's best first."""
        if not nbest:
            return ""
        if self.config.is_off:
            return nbest[0][0]
        scores = [self.score(text, logprob) for text, logprob in nbest]
        return nbest[max(range(len(nbest)), key=lambda i: (scores[i], -i))][0]
