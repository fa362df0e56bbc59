"""Long recordings in the two-pass stage (recipe/twopass.py): the long-form sets with
their CTC log-probabilities, the guard that keeps the tuned setting only where it does not
lose more than ``MAX_TERMS_WER_COST`` to Whisper's own long-form decoding on every set,
and a kept adapted writer's rows beside the original's.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np

from ..constants import MAX_TERMS_WER_COST
from ..data.manifest import ManifestEntry, load_entry, read_manifest
from ..decode.twopass_config import (DEFAULT_LONG_FORM, LONG_FORM_TERM_WINDOWS, LONG_FORM_WHISPER, LONG_FORM_WINDOWS,
                                      TwoPassConfig)
from ..metrics import score, term_accuracy
from ..model.loader import Bundle
from ..vocabulary import Vocabulary
from .outputs import Posteriors

ADAPTED_WRITER = "adapted writer"  # a kept adapted writer's long-form rows: "adapted writer/LABEL"

LongformSet = tuple[list[ManifestEntry], list[np.ndarray], list[np.ndarray], float]  # entries, waves, logprobs, CTC s


def longform_guard(two_pass, candidates: Sequence[TwoPassConfig], sets: dict[str, LongformSet],
                   vocabulary: Vocabulary, frame_shift: float,
                   alone: dict[str, dict] | None = None) -> tuple[TwoPassConfig, dict, str | None]:
    """The first of ``candidates`` (safest last) whose long-form WER is at most Whisper's own
    long-form decoding's + ``MAX_TERMS_WER_COST`` on every set; when none is, the first one
    with ``long_form`` set to Whisper's own long-form decoding (which holds by definition):
    long recordings go to it, short clips keep the setting tuned on them. ``alone``: that
    decoding's rows (set -> figures) where they were measured already (None: measured here).
    Returns it, the rows measured (set -> row -> figures) and what the guard did ("" when
    the first passed)."""
    own = TwoPassConfig(top_terms=0, spot_threshold=None, whisper_margin=None, long_form=LONG_FORM_WHISPER)
    rows: dict[str, dict[str, dict]] = {name: {} for name in sets}
    whisper_long = two_pass.with_config(own)
    for name, (entries, waves, logprobs, _) in sets.items():
        if alone is not None:
            rows[name]["whisper"] = alone[name]
            continue
        t0 = time.perf_counter()
        hyps = whisper_long.texts(logprobs, frame_shift, waves)
        rows[name]["whisper"] = figures(entries, hyps, vocabulary, time.perf_counter() - t0)
    unique = list(dict.fromkeys(candidates))  # each setting once, in order
    first, lost = label_of(unique[0]), []
    for i, config in enumerate(unique):
        label = label_of(config)
        # Whisper's own long-form decoding holds by definition (its rows are the "whisper" ones)
        lost = [] if config.long_form == LONG_FORM_WHISPER else _losses(
            two_pass.with_config(config), label, sets, rows, vocabulary, frame_shift)
        if not lost:
            return config, rows, None if i == 0 else f"{first} lost on long recordings; fell back to {label}"
    # none held: Whisper's own long-form decoding for long recordings (the rows above); short
    # clips keep the first setting, judged on them (that decoding reads no prompt or spotting)
    return replace(unique[0], long_form=LONG_FORM_WHISPER), rows, (
        f"every windowed setting lost on long recordings ({'; '.join(lost)}); "
        f"fell back to Whisper's own long-form decoding")


def _losses(tp, label: str, sets: dict[str, LongformSet], rows: dict[str, dict[str, dict]], vocabulary: Vocabulary,
            frame_shift: float) -> list[str]:
    """Decode each set with ``tp`` into ``rows[set][label]``; the sets where it lost more
    than ``MAX_TERMS_WER_COST`` to Whisper's own long-form decoding."""
    lost = []
    for name, (entries, waves, logprobs, ctc_s) in sets.items():
        t0 = time.perf_counter()
        hyps = tp.texts(logprobs, frame_shift, waves)
        seconds = time.perf_counter() - t0 + ctc_s
        if tp.config.long_form == LONG_FORM_TERM_WINDOWS:  # its long-form pass, memoized, was timed in Whisper's row
            seconds += rows[name]["whisper"]["seconds"]
        rows[name][label] = figures(entries, hyps, vocabulary, seconds)
        alone = rows[name]["whisper"]["wer"]
        if rows[name][label]["wer"] > alone + MAX_TERMS_WER_COST:
            lost.append(f"{name} {100 * rows[name][label]['wer']:.2f}% vs Whisper alone {100 * alone:.2f}%")
    return lost


def label_of(config: TwoPassConfig) -> str:
    """A long-form row's label: "two-pass+term-windows+near-0.85+context-12" (evaluate.longform_name names it)."""
    if config.long_form == LONG_FORM_WHISPER:
        return "whisper"
    spotting = config.spot_threshold is not None
    label = "two-pass" if spotting else "whisper-terms" if config.top_terms else "whisper-windows"
    near = config.judged_near_spelling if spotting else None  # (where it acts)
    return label + ("+term-windows" if config.long_form == LONG_FORM_TERM_WINDOWS else "") + (
        f"+near-{near}" if near is not None else "") + (f"+context-{config.context_words}" if config.context_words else "")


def figures(entries: Sequence[ManifestEntry], hyps: Sequence[str], vocabulary: Vocabulary,
             seconds: float) -> dict[str, float | None]:
    result = score([e.id for e in entries], [e.text for e in entries], hyps)
    terms = term_accuracy(result, vocabulary.phrases()) if len(vocabulary) else None
    audio = sum(e.duration for e in entries)
    return {"wer": result.wer, "cer": result.cer, "term_recall": terms.recall if terms else None,
            "recordings": len(entries),
            "seconds": round(seconds, 2), "rtf": round(seconds / audio, 4) if audio else None}


def longform_sets(adapted: Bundle, manifests: Sequence[str], posteriors: Posteriors,
                   two_pass) -> dict[str, LongformSet]:
    """Each long-form manifest's recordings, named by its folder, with their CTC
    log-probabilities and the time the acoustic model and the windows' beam searches
    took (part of the two-pass cost; the searches run before Whisper loads, on every core)."""
    sets = {}
    for path in manifests:
        entries = read_manifest(path)
        if not entries:
            continue
        t0 = time.perf_counter()
        logprobs = posteriors(entries)
        waves = [load_entry(e, adapted.sampling_rate) for e in entries]
        two_pass.search_first(logprobs, adapted.frame_shift, waves)
        name = Path(path).parent.name if Path(path).name == "recordings.jsonl" else Path(path).stem
        sets[f"long-{name}"] = (entries, waves, logprobs, time.perf_counter() - t0)
    return sets


def adapted_longform(adapted, best: TwoPassConfig, sets: dict[str, LongformSet], vocabulary: Vocabulary,
                     frame_shift: float, alone: dict[str, dict] | None = None
                     ) -> tuple[TwoPassConfig, dict[str, dict[str, dict]], str | None]:
    """The long-form guard again for ``adapted`` (the two-pass with the kept adapted writer),
    which may write long recordings better on its own than the original did; its rows are
    keyed "adapted writer/LABEL", beside the original's from the tuning. Only what long
    recordings use may change: ``best`` (where the original fell back to its own long-form
    decoding, at the default long form), without the text before, every window written, then
    the writer's own long-form decoding; short clips keep the setting the writer was judged
    at. Where the original writes the long-form pass (``adapted.general``), ``alone`` gives
    its rows, measured with the original: the guard compares with them and the term
    windows' time counts theirs (memoized here, that pass would cost nothing), and no
    "adapted writer/whisper" row is made. Returns (setting, rows, what the guard did)."""
    # the original's fallback need not hold for this writer
    first = replace(best, long_form=DEFAULT_LONG_FORM) if best.long_form == LONG_FORM_WHISPER else best
    tried = [first, replace(first, context_words=0), replace(first, long_form=LONG_FORM_WINDOWS)]
    routed = adapted.general is not None and alone is not None
    config, rows, fallback = longform_guard(adapted, tried, sets, vocabulary, frame_shift, alone if routed else None)
    return config, {name: {f"{ADAPTED_WRITER}/{label}": f for label, f in by_label.items()
                           if not (routed and label == "whisper")}
                    for name, by_label in rows.items()}, fallback
