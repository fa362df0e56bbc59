"""A custom vocabulary: the domain terms that one object feeds to every stage.

    vocab = Vocabulary.load("recipes/medical/terms.csv")
    vocab = vocab.add("Xarelto", weight=2.0, pronunciation="zuh-REL-toe")

The same terms drive the n-gram LM (as unigrams and text, so a term absent from the
LM corpus still gets a probability), decode-time boosting (hotwords), speech
synthesis hints, and the term recall/precision metric. Adding a term needs no
retraining: build a decoder with the new vocabulary.

File formats: ``.txt`` has one term per line, optionally ``term<TAB>weight``, with
``#`` comments; ``.csv`` has a header with ``term`` and optional ``weight``,
``spoken``, ``pronunciation`` and ``category`` columns.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Iterable, Iterator

from .errors import SpeechtlError
from .fileio import read_text_file, write_text
from .text import normalize

log = logging.getLogger(__name__)

DEFAULT_TERM_WEIGHT = 1.0


@dataclass(frozen=True)
class Term:
    text: str  # as written: "Xarelto", "res judicata", "COPD"
    weight: float = DEFAULT_TERM_WEIGHT
    spoken: str | None = None  # the words a transcript holds, when not normalize(text): "c o p d"
    pronunciation: str | None = None  # a hint for speech synthesis engines
    category: str | None = None  # e.g. drug, condition; used by the sentence generators

    @cached_property
    def words(self) -> tuple[str, ...]:
        """The normalized words a correct transcript contains for this term."""
        return tuple(normalize(self.spoken if self.spoken else self.text).split())


class Vocabulary:
    """An ordered, immutable set of terms, unique by their normalized words."""

    def __init__(self, terms: Iterable[Term | str] = ()) -> None:
        by_words: dict[tuple[str, ...], Term] = {}
        for term in terms:
            term = Term(term) if isinstance(term, str) else term
            if not term.words:
                raise SpeechtlError(f"term {term.text!r} is empty after normalization")
            if not math.isfinite(term.weight) or term.weight <= 0:
                raise SpeechtlError(f"term {term.text!r}: weight must be a positive finite number, not {term.weight}")
            by_words[term.words] = term  # a later entry of the same words wins
        self._terms = tuple(by_words.values())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "Vocabulary":
        path = Path(path)
        if not path.is_file():
            raise SpeechtlError(f"{path}: vocabulary file not found")
        text = read_text_file(path, "vocabulary")
        return cls(_parse_csv(text, path) if path.suffix.lower() == ".csv" else _parse_txt(text, path))

    def add(self, text: str, weight: float = DEFAULT_TERM_WEIGHT, spoken: str | None = None,
            pronunciation: str | None = None, category: str | None = None) -> "Vocabulary":
        return Vocabulary(self._terms + (Term(text, weight, spoken, pronunciation, category),))

    def by_category(self, category: str) -> list[Term]:
        return [t for t in self._terms if t.category == category]

    def merge(self, other: "Vocabulary") -> "Vocabulary":
        return Vocabulary(self._terms + other._terms)

    def with_weight(self, weight: float) -> "Vocabulary":
        return Vocabulary(replace(t, weight=weight) for t in self._terms)

    def __iter__(self) -> Iterator[Term]:
        return iter(self._terms)

    def __len__(self) -> int:
        return len(self._terms)

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and tuple(normalize(text).split()) in self.phrases()

    def written_in(self, text: str) -> bool:
        """Whether a normalized ``text`` holds any term, as whole words."""
        padded = f" {text} "
        return any(f" {' '.join(t.words)} " in padded for t in self._terms)

    def phrases(self) -> dict[tuple[str, ...], float]:
        """Normalized word sequence -> weight: what decoding boosts."""
        return {t.words: t.weight for t in self._terms}

    def unigrams(self) -> set[str]:
        """Every word of every term: words the decoder must treat as known."""
        return {w for t in self._terms for w in t.words}

    def lm_sentences(self) -> list[str]:
        """Each term as a sentence of its own, to mix into LM text."""
        return [" ".join(t.words) for t in self._terms]

    def hints(self) -> dict[str, str]:
        """Normalized term words -> pronunciation hint, for terms that have one."""
        return {" ".join(t.words): t.pronunciation for t in self._terms if t.pronunciation}

    def save(self, path: str | os.PathLike[str]) -> None:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["term", "weight", "spoken", "pronunciation", "category"])
        for t in self._terms:
            writer.writerow([t.text, t.weight, t.spoken or "", t.pronunciation or "", t.category or ""])
        write_text(path, out.getvalue())


def _parse_txt(text: str, path: Path) -> list[Term]:
    terms = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, weight = line.partition("\t")
        last = name.split()[-1]
        if not weight and len(name.split()) > 1 and _is_number(last):
            log.warning("%s:%d: %r is read as one term; a weight goes after a TAB (term<TAB>weight)",
                        path, lineno, name)
        terms.append(Term(name.strip(), _weight(weight, path, lineno)))
    return terms


def _parse_csv(text: str, path: Path) -> list[Term]:
    rows = csv.DictReader(io.StringIO(text))
    if not rows.fieldnames or "term" not in rows.fieldnames:
        raise SpeechtlError(f"{path}: a CSV vocabulary needs a 'term' column")
    terms = []
    for lineno, row in enumerate(rows, start=2):
        if not (row.get("term") or "").strip():
            continue
        terms.append(Term(row["term"].strip(), _weight(row.get("weight") or "", path, lineno),
                          (row.get("spoken") or "").strip() or None, (row.get("pronunciation") or "").strip() or None,
                          (row.get("category") or "").strip() or None))
    return terms


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _weight(raw: str, path: Path, lineno: int) -> float:
    if not raw.strip():
        return DEFAULT_TERM_WEIGHT
    try:
        return float(raw)
    except ValueError:
        raise SpeechtlError(f"{path}:{lineno}: weight {raw.strip()!r} is not a number") from None
