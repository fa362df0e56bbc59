"""Build the n-gram LM from domain text, normalized exactly as training text is.

    speechtl build-lm --text notes.txt --terms terms.csv --output lm/medical.arpa --order 4

Each line is split into sentences (at . ! ? before a capital or digit, not after an
abbreviation like "Dr."), each sentence normalized; the vocabulary's terms are
added as sentences of their own so every term has a probability.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ..errors import SpeechtlError
from ..fileio import read_text_file
from ..text import normalize, split_sentences
from ..vocabulary import Vocabulary
from .arpa import DEFAULT_ORDER, ArpaStats, estimate_arpa

def read_lines(paths: Sequence[str | os.PathLike[str]]) -> Iterator[str]:
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.txt") if p.is_file())
        elif path.is_file():
            files = [path]
        else:
            raise SpeechtlError(f"{path}: text file or folder not found")
        for f in files:
            yield from read_text_file(f, "text").splitlines()


def lm_sentences(lines: Iterable[str], vocabulary: Vocabulary | None = None) -> list[str]:
    """Normalized, non-empty sentences; terms appended once each."""
    out = [n for line in lines for s in split_sentences(line) if (n := normalize(s))]
    if vocabulary is not None:
        out += vocabulary.lm_sentences()
    return out


def build_lm(lines: Iterable[str], output: str | os.PathLike[str], order: int = DEFAULT_ORDER,
             prune: Sequence[int] = (), vocabulary: Vocabulary | None = None,
             lexicon: Iterable[str] = ()) -> ArpaStats:
    """``lexicon``: real words the text may not contain, made known to the LM with the
    probability of an unseen word (so only letter soup pays the OOV offset)."""
    sentences = lm_sentences(lines, vocabulary)
    if not sentences:
        raise SpeechtlError("no text to build a language model from")
    return estimate_arpa(sentences, output, order=order, prune=prune, extra_words=lexicon)
