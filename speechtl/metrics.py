"""WER and CER on normalized text, per utterance and per corpus, and results files.

One core function, :func:`score_utterance`; :func:`score` sums its counts over a
corpus; :func:`write_results` writes icefall-style files:

    recogs-{set}-{method}.txt      ref/hyp word lists per utterance
    errs-{set}-{method}.txt        %WER, error counts, aligned utterances, confusions
    wer-summary-{set}-{method}.txt method and WER
    results-{set}-{method}.json    everything above, machine-readable
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import jiwer

from .fileio import write_json, write_text
from .text import normalize


@dataclass(frozen=True)
class ErrorCounts:
    substitutions: int
    deletions: int
    insertions: int
    ref_len: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """Errors per reference token. With an empty reference: 0.0 if the
        hypothesis is empty too, else 1.0 (every token is an insertion)."""
        if self.ref_len == 0:
            return 0.0 if self.errors == 0 else 1.0
        return self.errors / self.ref_len

    def __add__(self, other: "ErrorCounts") -> "ErrorCounts":
        return ErrorCounts(self.substitutions + other.substitutions, self.deletions + other.deletions,
                           self.insertions + other.insertions, self.ref_len + other.ref_len)


ZERO = ErrorCounts(0, 0, 0, 0)
EPS = "*"


@dataclass(frozen=True)
class UtteranceScore:
    id: str
    ref: str
    hyp: str
    words: ErrorCounts
    chars: ErrorCounts
    alignment: tuple[tuple[str, str], ...]  # (ref word, hyp word); EPS marks a gap


@dataclass(frozen=True)
class CorpusScore:
    utterances: tuple[UtteranceScore, ...]
    words: ErrorCounts
    chars: ErrorCounts

    @property
    def wer(self) -> float:
        return self.words.rate

    @property
    def cer(self) -> float:
        return self.chars.rate


# Spellings of one word that transcripts and recognizers use interchangeably: scored as
# one (both sides mapped), so a convention is not counted as a recognition error. Whisper
# writes "OK" in its long-form decoding and "Okay" on short windows; the interview
# references write "ok" (tools/bench_longform.py: 40 of one interview's errors). The
# interview references write "alright", Whisper base "all right" where it hears a clause
# (2026-12-05: 12 of the three interviews' errors, two per spelling); both as "all right".
SCORING_SPELLINGS = {"okay": "ok", "alright": "all right"}


def _scoring_form(text: str) -> str:
    return " ".join(SCORING_SPELLINGS.get(w, w) for w in normalize(text).split())


def score_utterance(utt_id: str, ref: str, hyp: str) -> UtteranceScore:
    """Align normalized ``ref`` and ``hyp``; count word and character errors."""
    ref, hyp = _scoring_form(ref), _scoring_form(hyp)
    if not ref:
        n = len(hyp.split())
        return UtteranceScore(utt_id, ref, hyp, ErrorCounts(0, 0, n, 0), ErrorCounts(0, 0, len(hyp), 0),
                              tuple((EPS, w) for w in hyp.split()))
    words = jiwer.process_words(ref, hyp)
    chars = jiwer.process_characters(ref, hyp)
    return UtteranceScore(
        utt_id, ref, hyp,
        ErrorCounts(words.substitutions, words.deletions, words.insertions, len(ref.split())),
        ErrorCounts(chars.substitutions, chars.deletions, chars.insertions, len(ref)),
        _pairs(ref.split(), hyp.split(), words.alignments[0]),
    )


def score(ids: Sequence[str], refs: Sequence[str], hyps: Sequence[str]) -> CorpusScore:
    if not (len(ids) == len(refs) == len(hyps)):
        raise ValueError("ids, refs and hyps must have the same length")
    utts = tuple(score_utterance(i, r, h) for i, r, h in zip(ids, refs, hyps))
    words = sum((u.words for u in utts), ZERO)
    chars = sum((u.chars for u in utts), ZERO)
    return CorpusScore(utts, words, chars)


def _pairs(ref: list[str], hyp: list[str], chunks) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for c in chunks:
        r = ref[c.ref_start_idx:c.ref_end_idx]
        h = hyp[c.hyp_start_idx:c.hyp_end_idx]
        if c.type == "insert":
            out += [(EPS, w) for w in h]
        elif c.type == "delete":
            out += [(w, EPS) for w in r]
        else:  # equal or substitute: same length on both sides
            out += list(zip(r, h))
    return tuple(out)


def write_results(out_dir: str | os.PathLike[str], set_name: str, method: str, result: CorpusScore) -> dict[str, Path]:
    """Write the four results files; return their paths by kind."""
    out = Path(out_dir)
    suffix = f"{set_name}-{method}"
    paths = {
        "recogs": out / f"recogs-{suffix}.txt",
        "errs": out / f"errs-{suffix}.txt",
        "summary": out / f"wer-summary-{suffix}.txt",
        "json": out / f"results-{suffix}.json",
    }
    recogs = []
    for u in sorted(result.utterances, key=lambda u: u.id):
        recogs.append(f"{u.id}:\tref={u.ref.split()!r}")
        recogs.append(f"{u.id}:\thyp={u.hyp.split()!r}")
    write_text(paths["recogs"], "\n".join(recogs) + "\n")
    write_text(paths["errs"], _errs_text(result))
    write_text(paths["summary"], f"settings\tWER\tCER\n{method}\t{100 * result.wer:.2f}\t{100 * result.cer:.2f}\n")
    write_json(paths["json"], {
        "set": set_name, "method": method, "wer": result.wer, "cer": result.cer,
        "words": asdict(result.words), "chars": asdict(result.chars),
        "utterances": [
            {"id": u.id, "ref": u.ref, "hyp": u.hyp, "wer": u.words.rate, "cer": u.chars.rate,
             "words": asdict(u.words), "chars": asdict(u.chars)}
            for u in result.utterances
        ],
    })
    return paths


def _errs_text(result: CorpusScore) -> str:
    w = result.words
    lines = [
        f"%WER = {100 * result.wer:.2f}",
        f"%CER = {100 * result.cer:.2f}",
        f"Errors: {w.insertions} insertions, {w.deletions} deletions, {w.substitutions} substitutions, "
        f"over {w.ref_len} reference words ({w.ref_len - w.substitutions - w.deletions} correct)",
        "",
        "PER-UTT DETAILS: corr or (ref->hyp)",
    ]
    subs: Counter[tuple[str, str]] = Counter()
    dels: Counter[str] = Counter()
    ins: Counter[str] = Counter()
    for u in sorted(result.utterances, key=lambda u: u.id):
        parts = []
        for r, h in u.alignment:
            if r == h:
                parts.append(r)
                continue
            parts.append(f"({r}->{h})")
            if r == EPS:
                ins[h] += 1
            elif h == EPS:
                dels[r] += 1
            else:
                subs[(r, h)] += 1
        lines.append(f"{u.id}:\t{' '.join(parts)}")
    lines += ["", "SUBSTITUTIONS: count ref -> hyp"]
    lines += [f"{n}   {r} -> {h}" for (r, h), n in subs.most_common()]
    lines += ["", "DELETIONS: count ref"] + [f"{n}   {r}" for r, n in dels.most_common()]
    lines += ["", "INSERTIONS: count hyp"] + [f"{n}   {h}" for h, n in ins.most_common()]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class TermMiss:
    utterance_id: str
    term: str
    decoded: str  # the hypothesis words aligned with the term ("" if deleted)


@dataclass(frozen=True)
class TermStats:
    term: str
    in_reference: int
    recognized: int  # reference occurrences decoded exactly, at the aligned position
    in_hypothesis: int


@dataclass(frozen=True)
class TermReport:
    """Domain-term accuracy. recall: share of the reference's term occurrences
    decoded exactly; precision: share of the hypothesis's term occurrences that
    are such hits (the rest are false insertions). None where undefined."""

    terms: tuple[TermStats, ...]
    misses: tuple[TermMiss, ...]

    @property
    def in_reference(self) -> int:
        return sum(t.in_reference for t in self.terms)

    @property
    def recognized(self) -> int:
        return sum(t.recognized for t in self.terms)

    @property
    def in_hypothesis(self) -> int:
        return sum(t.in_hypothesis for t in self.terms)

    @property
    def recall(self) -> float | None:
        return self.recognized / self.in_reference if self.in_reference else None

    @property
    def precision(self) -> float | None:
        return self.recognized / self.in_hypothesis if self.in_hypothesis else None

    def to_json(self) -> dict:
        return {"recall": self.recall, "precision": self.precision, "in_reference": self.in_reference,
                "recognized": self.recognized, "in_hypothesis": self.in_hypothesis,
                "terms": [asdict(t) for t in self.terms if t.in_reference or t.in_hypothesis],
                "misses": [asdict(m) for m in self.misses]}


def term_accuracy(result: CorpusScore, phrases: Iterable[tuple[str, ...]]) -> TermReport:
    """Score ``phrases`` (normalized word tuples, e.g. ``Vocabulary.phrases()``) in a corpus score."""
    phrases = sorted(set(phrases), key=len, reverse=True)
    stats = {p: [0, 0, 0] for p in phrases}
    misses: list[TermMiss] = []
    for u in result.utterances:
        ref, hyp = u.ref.split(), u.hyp.split()
        aligned, inserted = _hyp_per_ref_word(u.alignment, len(ref))
        for phrase in phrases:
            for start in occurrences(ref, phrase):
                last = start + len(phrase) - 1  # (words inserted after the term are its neighbours' errors)
                decoded = [w for i in range(start, last + 1) for w in aligned[i] + (inserted[i] if i < last else [])]
                stats[phrase][0] += 1
                if tuple(decoded) == phrase:
                    stats[phrase][1] += 1
                else:
                    misses.append(TermMiss(u.id, " ".join(phrase), " ".join(decoded)))
            stats[phrase][2] += len(occurrences(hyp, phrase))
    terms = tuple(TermStats(" ".join(p), *s) for p, s in sorted(stats.items(), key=lambda kv: " ".join(kv[0])))
    return TermReport(terms, tuple(misses))


def write_term_report(out_dir: str | os.PathLike[str], set_name: str, method: str, report: TermReport) -> dict[str, Path]:
    """terms-{set}-{method}.txt (per-term table, then every miss) and .json."""
    out = Path(out_dir)
    paths = {"terms": out / f"terms-{set_name}-{method}.txt", "terms_json": out / f"terms-{set_name}-{method}.json"}
    fmt = lambda v: "n/a" if v is None else f"{100 * v:.2f}"  # noqa: E731
    lines = [f"term recall = {fmt(report.recall)}  ({report.recognized}/{report.in_reference})",
             f"term precision = {fmt(report.precision)}  ({report.recognized}/{report.in_hypothesis})", "",
             "PER-TERM: term  in_ref  recognized  in_hyp"]
    lines += [f"{t.term}\t{t.in_reference}\t{t.recognized}\t{t.in_hypothesis}"
              for t in report.terms if t.in_reference or t.in_hypothesis]
    lines += ["", "MISSES: utterance  term -> decoded"]
    lines += [f"{m.utterance_id}\t{m.term} -> {m.decoded or '*'}" for m in report.misses]
    write_text(paths["terms"], "\n".join(lines) + "\n")
    write_json(paths["terms_json"], {"set": set_name, "method": method, **report.to_json()})
    return paths


def occurrences(words: Sequence[str], phrase: tuple[str, ...]) -> list[int]:
    """Where ``phrase`` starts in ``words``."""
    n = len(phrase)
    return [i for i in range(len(words) - n + 1) if tuple(words[i:i + n]) == phrase]


def _hyp_per_ref_word(alignment: tuple[tuple[str, str], ...], ref_len: int) -> tuple[list[list[str]], list[list[str]]]:
    """For each reference word, the hypothesis word aligned with it (none where it was
    deleted), and the words inserted after it (before the first: dropped). An insertion
    between two of a term's words is a miss of the term, one before or after it is not:
    where the aligner puts a tie ("arthritis also taved" for "arthritis ulcerative") must
    not decide whether "rheumatoid arthritis" was recognized."""
    aligned: list[list[str]] = [[] for _ in range(max(ref_len, 1))]
    inserted: list[list[str]] = [[] for _ in range(max(ref_len, 1))]
    i = -1
    for r, h in alignment:
        if r != EPS:
            i += 1
            if h != EPS:
                aligned[i].append(h)
        elif i >= 0:
            inserted[i].append(h)
    return aligned, inserted
