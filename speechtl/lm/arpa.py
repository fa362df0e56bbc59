"""An n-gram estimator that writes ARPA files KenLM loads: interpolated modified Kneser-Ney.

KenLM's own estimator (``lmplz``) is not on PyPI; this one needs nothing but Python
and suits the corpora speechtl adapts to (domain text of thousands to a few million
words). The model follows Chen & Goodman's interpolated modified Kneser-Ney:

* the highest order uses raw counts, lower orders continuation counts (how many
  distinct words precede the n-gram), except n-grams that start with ``<s>``,
  which keep raw counts because nothing can precede ``<s>``;
* three discounts per order (for counts 1, 2 and 3+) from the count-of-counts;
* unigrams interpolate with the uniform distribution over the vocabulary, which leaves
  ``<unk>`` the mass of one unseen word; ``extra_words`` (a real-word list) join that
  vocabulary, so each gets the same small probability instead of being unknown.

Interpolated probabilities are written as a back-off model: each seen n-gram gets
its interpolated probability and each context its interpolation weight as back-off.
"""

from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

from ..fileio import atomic_path

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
DEFAULT_ORDER = 4
LOG10_ZERO = -99.0  # what ARPA files write for log10(0), e.g. p(<s>)
# Fallback discounts where a small corpus has no count-of-counts to estimate them from.
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)

Ngram = tuple[str, ...]


@dataclass(frozen=True)
class ArpaStats:
    order: int
    ngrams: tuple[int, ...]  # how many n-grams of each order were written
    vocabulary: int  # words, <s> </s> <unk> included


def estimate_arpa(sentences: Iterable[str], path: str | os.PathLike[str], order: int = DEFAULT_ORDER,
                  prune: Sequence[int] = (), extra_words: Iterable[str] = ()) -> ArpaStats:
    """Estimate from ``sentences`` (already normalized, words split by spaces); write ``path``.

    ``prune[k]`` drops n-grams of order k+1 seen fewer than that many times (orders
    of 2 and up; a pruned n-gram that is the context of a kept one stays).
    """
    if order < 2:
        raise ValueError("order must be at least 2 (KenLM loads bigram models and up)")
    counts = _count(sentences, order)
    if not counts[0]:
        raise ValueError("no words to estimate a language model from")
    adjusted = _adjust_counts(counts, order)
    _prune(adjusted, prune, order)
    discounts = [_discounts(adjusted[k]) for k in range(order)]
    probs, backoffs = _interpolate(adjusted, discounts, order, extra_words)
    with atomic_path(path) as tmp:
        _write(tmp, probs, backoffs, order)
    return ArpaStats(order, tuple(len(p) for p in probs), len(probs[0]))


def _count(sentences: Iterable[str], order: int) -> list[Counter[Ngram]]:
    counts: list[Counter[Ngram]] = [Counter() for _ in range(order)]
    for sentence in sentences:
        words = sentence.split()
        if not words:
            continue
        tokens = [BOS] + words + [EOS]
        for n in range(1, order + 1):
            for i in range(len(tokens) - n + 1):
                gram = tuple(tokens[i:i + n])
                if gram == (BOS,):
                    continue  # <s> is never predicted
                counts[n - 1][gram] += 1
    return counts


def _adjust_counts(counts: list[Counter[Ngram]], order: int) -> list[dict[Ngram, int]]:
    """Highest order: raw counts. Lower: continuation counts, raw if starting with <s>."""
    adjusted: list[dict[Ngram, int]] = [dict() for _ in range(order)]
    adjusted[order - 1] = dict(counts[order - 1])
    for n in range(order - 1, 0, -1):  # n = length of the lower-order n-grams
        continuation: Counter[Ngram] = Counter(gram[1:] for gram in counts[n])
        lower = adjusted[n - 1]
        for gram, raw in counts[n - 1].items():
            lower[gram] = raw if gram[0] == BOS else continuation.get(gram, raw)
    return adjusted


def _prune(adjusted: list[dict[Ngram, int]], prune: Sequence[int], order: int) -> None:
    for k in range(order - 1, 0, -1):  # highest order first; unigrams are never pruned
        threshold = prune[k] if k < len(prune) else 0
        if threshold <= 1:
            continue
        needed = {gram[:-1] for gram in adjusted[k + 1]} if k + 1 < order else set()
        needed |= {gram[1:] for gram in adjusted[k + 1]} if k + 1 < order else set()
        adjusted[k] = {g: c for g, c in adjusted[k].items() if c >= threshold or g in needed}


def _discounts(counts: dict[Ngram, int]) -> tuple[float, float, float]:
    n = Counter(min(c, 4) for c in counts.values())
    n1, n2, n3, n4 = (n.get(i, 0) for i in (1, 2, 3, 4))
    if min(n1, n2, n3, n4) == 0:
        return FALLBACK_DISCOUNTS
    y = n1 / (n1 + 2 * n2)
    d = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
    if not all(0 < di < i + 1 for i, di in enumerate(d)):
        return FALLBACK_DISCOUNTS
    return d  # type: ignore[return-value]


def _interpolate(adjusted: list[dict[Ngram, int]], discounts: list[tuple[float, float, float]], order: int,
                 extra_words: Iterable[str] = ()):
    """Interpolated probabilities per n-gram and back-off weights per context."""
    probs: list[dict[Ngram, float]] = [dict() for _ in range(order)]
    backoffs: list[dict[Ngram, float]] = [dict() for _ in range(order)]
    for k in range(order):
        d1, d2, d3 = discounts[k]
        totals: defaultdict[Ngram, int] = defaultdict(int)
        kinds: defaultdict[Ngram, list[int]] = defaultdict(lambda: [0, 0, 0])
        for gram, c in adjusted[k].items():
            ctx = gram[:-1]
            totals[ctx] += c
            kinds[ctx][min(c, 3) - 1] += 1
        gammas = {ctx: (d1 * m[0] + d2 * m[1] + d3 * m[2]) / totals[ctx] for ctx, m in kinds.items()}
        if k == 0:
            unseen = {(w,) for w in extra_words} - set(adjusted[0]) - {(BOS,), (EOS,), (UNK,)}
            uniform = 1.0 / (len(adjusted[0]) + len(unseen) + 1)  # +1: <unk>
            gamma = gammas[()]
            for gram, c in adjusted[0].items():
                probs[0][gram] = (c - _d(c, discounts[0])) / totals[()] + gamma * uniform
            for gram in unseen:
                probs[0][gram] = gamma * uniform
            probs[0][(UNK,)] = gamma * uniform
            probs[0][(BOS,)] = 0.0
            continue
        for gram, c in adjusted[k].items():
            ctx = gram[:-1]
            lower = _lower_prob(gram[1:], probs, backoffs)
            probs[k][gram] = (c - _d(c, discounts[k])) / totals[ctx] + gammas[ctx] * lower
        for ctx, g in gammas.items():
            backoffs[k - 1][ctx] = g
    return probs, backoffs


def _d(count: int, discounts: tuple[float, float, float]) -> float:
    return discounts[min(count, 3) - 1]


def _lower_prob(gram: Ngram, probs: list[dict[Ngram, float]], backoffs: list[dict[Ngram, float]]) -> float:
    """p(gram) under the already-estimated lower orders, backing off as needed."""
    k = len(gram) - 1
    if gram in probs[k]:
        return probs[k][gram]
    if k == 0:
        return probs[0][(UNK,)]
    return backoffs[k - 1].get(gram[:-1], 1.0) * _lower_prob(gram[1:], probs, backoffs)


def _write(path, probs, backoffs, order: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write("\\data\\\n")
        for k in range(order):
            f.write(f"ngram {k + 1}={len(probs[k])}\n")
        for k in range(order):
            f.write(f"\n\\{k + 1}-grams:\n")
            for gram in sorted(probs[k]):
                p = probs[k][gram]
                logp = LOG10_ZERO if p <= 0 else math.log10(p)
                line = f"{logp:.6f}\t{' '.join(gram)}"
                if k < order - 1 and gram in backoffs[k]:
                    line += f"\t{math.log10(backoffs[k][gram]):.6f}"
                elif k < order - 1 and gram[-1] != EOS:
                    line += "\t0.000000"
                f.write(line + "\n")
        f.write("\n\\end\\\n")
