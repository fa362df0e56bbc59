"""A built-in domain's synthetic training corpus of a given size (synth/corpus.py makes it).

    report = build_domain_corpus("legal", "data/legal/train", hours=0.5)
"""

from __future__ import annotations

import os
import random
from typing import Sequence

from ..domains import domain_terms, generate
from ..errors import SpeechtlError
from ..vocabulary import Vocabulary
from .corpus import CorpusReport, SynthConfig, synthesize_corpus

AVERAGE_SENTENCE_SECONDS = 3.5  # first guess of sentences per hour; corrected after each pass


def build_domain_corpus(domain: str, out_dir: str | os.PathLike[str], hours: float | None = None,
                        sentences: int | None = None, general_share: float = 0.2,
                        vocabulary: Vocabulary | None = None, voices: Sequence[str] | None = None,
                        config: SynthConfig = SynthConfig(), progress: bool = True,
                        text: Sequence[str] = (), text_share: float = 0.0) -> CorpusReport:
    """A built-in domain's corpus of ``sentences`` sentences, or of about ``hours`` hours.

    With ``hours``, sentences are added until the audio reaches the target: the
    generator is seeded, so a longer run extends a shorter one and the cache keeps
    what was already made. ``text``: the user's own domain sentences, ``text_share``
    of the corpus's sentences (in a seeded order, each at most once), the generator's
    the rest.
    """
    vocabulary = vocabulary if vocabulary is not None else domain_terms(domain)
    if sentences is None and hours is None:
        raise SpeechtlError("give --hours or --sentences")
    count = sentences or max(1, round(hours * 3600 / AVERAGE_SENTENCE_SECONDS))
    for _ in range(4):
        report = synthesize_corpus(_sentences(domain, count, config.seed, general_share, text, text_share),
                                   out_dir, vocabulary, voices, config, progress)
        if hours is None or report.hours >= 0.98 * hours or not report.utterances:
            return report
        count = round(count * hours / report.hours * 1.02) + 1
    return report


def _sentences(domain: str, count: int, seed: int, general_share: float, text: Sequence[str],
               text_share: float) -> list[str]:
    """``count`` sentences: ``text_share`` of them from ``text``, the rest generated."""
    own = list(text)
    if not own or text_share <= 0:
        return generate(domain, count, seed, general_share)
    random.Random(f"text-{seed}").shuffle(own)
    own = own[: round(count * text_share)]
    mixed = generate(domain, count - len(own), seed, general_share) + own
    random.Random(f"mix-{seed}").shuffle(mixed)
    return mixed
