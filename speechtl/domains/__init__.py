"""Built-in domains: a term list and a seeded sentence generator for each.

    vocab = domain_terms("medical")                  # 400 terms, with pronunciation hints
    sentences = generate("legal", 5000, seed=0)      # dictation, hearings, contracts

Sentences are written as people write them ("5 mg", "120/80", "Rule 12(b)(6)"); the
shared normalizer turns them into the spoken words a transcript holds. The term
lists were written for this project (``speechtl/domains/data/*-terms.csv``).
"""

from __future__ import annotations

import functools
import random
from pathlib import Path
from typing import Callable

from ..errors import SpeechtlError
from ..vocabulary import Vocabulary
from . import general, legal, medical

DATA = Path(__file__).parent / "data"
_GENERATORS: dict[str, Callable[[random.Random, Vocabulary], str]] = {
    "medical": medical.sentence, "legal": legal.sentence, "general": general.sentence,
}
DOMAINS = tuple(_GENERATORS)


def domain_terms(domain: str) -> Vocabulary:
    """The domain's term list (empty for ``general``): a fresh Vocabulary each call, its
    file parsed once per process."""
    _check(domain)
    return Vocabulary(_shipped_terms(domain))


@functools.lru_cache(maxsize=None)
def _shipped_terms(domain: str) -> tuple:
    path = DATA / f"{domain}-terms.csv"
    return tuple(Vocabulary.load(path)) if path.is_file() else ()


def generate(domain: str, count: int, seed: int = 0, general_share: float = 0.0) -> list[str]:
    """``count`` sentences of ``domain``; ``general_share`` of them everyday English instead."""
    _check(domain)
    rng = random.Random(f"{domain}-{seed}")
    terms = domain_terms(domain)
    out = []
    for _ in range(count):
        if domain != "general" and rng.random() < general_share:
            text = general.sentence(rng, Vocabulary())
        else:
            text = _GENERATORS[domain](rng, terms)
        out.append(text[0].upper() + text[1:])
    return out


def _check(domain: str) -> None:
    if domain not in _GENERATORS:
        raise SpeechtlError(f"unknown domain {domain!r} (built in: {', '.join(DOMAINS)})")
