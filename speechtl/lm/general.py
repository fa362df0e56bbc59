"""General English for the decoder: real text for the LM and a word list for the beam.

    sentences = general_sentences()          # ~20k normalized sentences of real English
    words = system_lexicon()                 # ~166k real words, or empty when not installed

A domain LM built only from generated domain text knows a few hundred words, so the
beam search happily spells "a ridof cersi you ary": nothing tells it those are not
words. Two things fix that:

* real English sentences mixed into the LM text (``data/general-en.txt.gz``: the
  transcripts of LJ Speech (public domain), LibriSpeech, VCTK and speechocean762
  (CC BY 4.0) training speakers, built by ``tools/build_general_text.py``, see
  ``data/README.md``), so everyday words and phrasing get real n-gram statistics;
* a unigram list of real words (SCOWL's American English list, Debian package
  ``wamerican-large``, installed by install.sh), so a word neither the LM nor the
  terms nor the list knows pays the OOV offset (``BeamConfig.unk_score_offset``).
"""

from __future__ import annotations

import gzip
import logging
import os
from functools import lru_cache
from pathlib import Path

from ..errors import SpeechtlError
from ..text import ALPHABET, normalize

log = logging.getLogger(__name__)

GENERAL_TEXT = Path(__file__).parent / "data" / "general-en.txt.gz"
LEXICON_PATHS = ("/usr/share/dict/american-english-large", "/usr/share/dict/american-english",
                 "/usr/share/dict/words")
_LETTERS = frozenset(ALPHABET)


def general_sentences(path: str | os.PathLike[str] = GENERAL_TEXT) -> list[str]:
    """The shipped real-English sentences, one normalized sentence per line."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


@lru_cache(maxsize=4)
def system_lexicon(path: str | None = None) -> frozenset[str]:
    """Normalized single words of a system word list (``path``, or the first of
    :data:`LEXICON_PATHS` present); empty, with a warning, when there is none."""
    if path and not Path(path).is_file():
        raise SpeechtlError(f"{path}: word list not found")
    candidates = [path] if path else [p for p in LEXICON_PATHS if Path(p).is_file()]
    if not candidates:
        log.warning("no English word list found (%s): install wamerican-large for the OOV penalty to know real "
                    "words", LEXICON_PATHS[0])
        return frozenset()
    words = set()
    with open(candidates[0], encoding="utf-8", errors="replace") as f:
        for line in f:
            word = normalize(line.strip())
            if word and " " not in word and set(word) <= _LETTERS:
                words.add(word)
    return frozenset(words)
