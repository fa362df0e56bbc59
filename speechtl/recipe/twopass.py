"""The two-pass stage: Whisper prompted by the terms the adapted model hears, then CTC
term spotting over Whisper's words (:mod:`speechtl.twopass`).

The prompt size, the spotting threshold and Whisper's judging margin are tuned on the
held-out-engine dev set like the CTC decoder's settings, mild to strong, and under the
same guard: on real general dev speech (when prepared) the two-pass output may not be
more than ``MAX_TERMS_WER_COST`` worse than Whisper alone. The chosen settings are saved
as ``two-pass.json`` beside the model. Without faster-whisper (the ``[teacher]`` extra)
or with ``whisper=""`` the stage records that it did not run.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from ..constants import MAX_TERMS_WER_COST, TERMS_TUNE_TOLERANCE
from ..data.manifest import ManifestEntry, load_entry
from ..fileio import write_json
from ..metrics import score
from ..model.loader import Bundle
from ..vocabulary import Vocabulary
from .config import RecipeConfig
from .outputs import DataOut, Posteriors, TrainOut, TwoPassOut


def stage_two_pass(c: RecipeConfig, data: DataOut, trained: TrainOut, adapted: Bundle, vocabulary: Vocabulary,
                   evaluation_sets: dict[str, list[ManifestEntry]], posteriors: Posteriors) -> TwoPassOut:
    from ..decode.beam import decode_processes
    from ..decode.policy import choose_decoding
    from ..decode.tune import choose
    from ..model.seq2seq import WhisperRecognizer
    from ..twopass import TWO_PASS_FILE, TwoPass, TwoPassConfig

    if not c.whisper:
        return TwoPassOut(whisper="")
    dev_entries = evaluation_sets["dev"][: c.dev_utterances]
    real_entries = evaluation_sets.get("real_dev", [])
    try:  # each clip is encoded once, whatever the prompts tried
        whisper = WhisperRecognizer(c.whisper, encoder_cache=len(dev_entries) + len(real_entries))
    except Exception as exc:  # faster-whisper missing, weights not installed: the CTC rows still stand
        print(f"two-pass decoding skipped: {exc}", flush=True)
        return TwoPassOut(whisper="", skipped=str(exc))
    two_pass = TwoPass(choose_decoding(adapted.alphabet, trained.model, processes=decode_processes()), whisper,
                       vocabulary, TwoPassConfig(spot_threshold=None))
    dev, real = _inputs(adapted, dev_entries, posteriors), _inputs(adapted, real_entries, posteriors)
    for _, _, logprobs in (dev, real):  # on every core, before Whisper's threads start
        two_pass.ctc_hypotheses(logprobs, adapted.frame_shift)

    def wer(tp: TwoPass, inputs) -> float | None:
        entries, waves, logprobs = inputs
        if not entries:
            return None
        hyps = tp.texts(waves, logprobs, adapted.frame_shift)
        return score([e.id for e in entries], [e.text for e in entries], hyps).wer

    alone = two_pass.with_config(top_terms=0, spot_threshold=None)
    # terms off on real speech: Whisper alone; each setting must stay near it
    real_alone = wer(alone, real)
    max_guard = None if real_alone is None else real_alone + MAX_TERMS_WER_COST

    def measure(settings: list[dict]) -> list[dict]:
        rows = []
        for setting in tqdm(settings, desc="two-pass settings", disable=None, leave=False):
            tp = two_pass.with_config(**setting)
            rows.append({**setting, "wer": wer(tp, dev), "guard_wer": wer(tp, real)})
        return rows

    def best_of(rows: list[dict]) -> dict:
        return rows[choose([r["wer"] for r in rows], [r["guard_wer"] for r in rows], max_guard,
                           TERMS_TUNE_TOLERANCE)]

    # One setting at a time, each list mild to strong (the first within tolerance of the
    # best wins). 1. The prompt, spotting off: Whisper alone (what the guard falls back
    # to), then the prompt sizes, most evidence asked first. Each prompt is one Whisper
    # pass over dev; everything after reuses its texts (memoized in ``two_pass``).
    gains = sorted(c.tune_two_pass_prompt_gains, key=lambda g: -np.inf if g is None else g, reverse=True)
    off = {"spot_threshold": None, "whisper_margin": None}
    grid = [{"top_terms": 0, "prompt_min_gain": None, **off, "wer": wer(alone, dev), "guard_wer": real_alone}]
    grid += measure([{"top_terms": top_terms, "prompt_min_gain": gain, **off} for gain in gains
                     for top_terms in sorted(c.tune_two_pass_top_terms)])
    prompt = best_of(grid)
    # 2. Spotting over the chosen prompt's texts: judged by Whisper (strict margins
    # first), then by the CTC model alone; thresholds high to low. These settings share
    # the alignments, spotting gains and forced decodings, so they cost little each.
    thresholds = tuple(sorted(c.tune_two_pass_thresholds, reverse=True))
    margins = tuple(sorted(m for m in c.tune_two_pass_whisper_margins if m is not None))[::-1]
    chosen_prompt = {"top_terms": prompt["top_terms"], "prompt_min_gain": prompt["prompt_min_gain"]}
    spotted = measure([{**chosen_prompt, "spot_threshold": t, "whisper_margin": m}
                       for m in (*margins, None) for t in thresholds])
    grid += spotted
    best = best_of([prompt, *spotted])
    unspotted = next(g for g in grid if (g["top_terms"], g["prompt_min_gain"], g["spot_threshold"])
                     == (best["top_terms"], best["prompt_min_gain"], None))
    dev_wer = {"whisper": grid[0]["wer"], "whisper_terms": unspotted["wer"], "two_pass": best["wer"]}
    general = None if real_alone is None else {"whisper": real_alone, "whisper_terms": unspotted["guard_wer"],
                                               "two_pass": best["guard_wer"]}
    print(f"two-pass ({c.whisper}): {best['top_terms']} heard terms in the prompt (acoustic gain at least "
          f"{best['prompt_min_gain']}), spotting threshold {best['spot_threshold']}, Whisper's margin "
          f"{best['whisper_margin']}; dev WER " + ", ".join(f"{k} {100 * v:.2f}%" for k, v in dev_wer.items()),
          flush=True)
    settings_file = f"{trained.model}/{TWO_PASS_FILE}"
    write_json(settings_file, {
        "whisper": c.whisper, "top_terms": best["top_terms"], "prompt_min_gain": best["prompt_min_gain"],
        "spot_threshold": best["spot_threshold"], "whisper_margin": best["whisper_margin"],
        "tuned_on": data.dev, "grid": grid})
    return TwoPassOut(whisper=c.whisper, top_terms=best["top_terms"], prompt_min_gain=best["prompt_min_gain"],
                      spot_threshold=best["spot_threshold"], whisper_margin=best["whisper_margin"],
                      dev_wer=dev_wer, general_dev_wer=general, settings=settings_file)


def _inputs(adapted: Bundle, entries: Sequence[ManifestEntry], posteriors: Posteriors):
    """(entries, their 16 kHz waves, the adapted model's log-probabilities)."""
    entries = list(entries)
    if not entries:
        return [], [], []
    return entries, [load_entry(e, adapted.sampling_rate) for e in entries], posteriors(entries)
