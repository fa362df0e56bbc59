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
from .outputs import DataOut, TrainOut, TwoPassOut


def stage_two_pass(c: RecipeConfig, data: DataOut, trained: TrainOut, adapted: Bundle, vocabulary: Vocabulary,
                   evaluation_sets: dict[str, list[ManifestEntry]]) -> TwoPassOut:
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
    two_pass = TwoPass(choose_decoding(adapted.alphabet, trained.model), whisper, vocabulary,
                       TwoPassConfig(spot_threshold=None))
    dev, real = _inputs(adapted, dev_entries), _inputs(adapted, real_entries)

    def wer(tp: TwoPass, inputs) -> float | None:
        entries, waves, logprobs = inputs
        if not entries:
            return None
        hyps = tp.texts(waves, logprobs, adapted.frame_shift)
        return score([e.id for e in entries], [e.text for e in entries], hyps).wer

    alone = two_pass.with_config(top_terms=0, spot_threshold=None)
    # terms off on real speech: Whisper alone; each setting must stay near it
    real_alone = wer(alone, real)
    # mild to strong: Whisper alone (chosen when no term setting passes the guard), then
    # the prompt (most evidence asked first, sizes small to large), spotting off, judged by
    # Whisper (strict margins first), then by the CTC model alone
    thresholds = tuple(sorted(c.tune_two_pass_thresholds, reverse=True))
    margins = tuple(sorted(m for m in c.tune_two_pass_whisper_margins if m is not None))[::-1]
    spotting = [(None, None)] + [(t, m) for m in margins for t in thresholds] + [(t, None) for t in thresholds]
    gains = sorted(c.tune_two_pass_prompt_gains, key=lambda g: -np.inf if g is None else g, reverse=True)
    grid = [{"top_terms": 0, "prompt_min_gain": None, "spot_threshold": None, "whisper_margin": None,
             "wer": wer(alone, dev), "guard_wer": real_alone}]
    settings = [(min_gain, top_terms, threshold, margin) for min_gain in gains
                for top_terms in sorted(c.tune_two_pass_top_terms) for threshold, margin in spotting]
    # the first setting of each prompt runs Whisper over dev; later ones reuse its texts,
    # alignments, spotting gains and forced decodings (memoized in ``two_pass``)
    for min_gain, top_terms, threshold, margin in tqdm(settings, desc="two-pass settings", disable=None):
        tp = two_pass.with_config(top_terms=top_terms, prompt_min_gain=min_gain, spot_threshold=threshold,
                                  whisper_margin=margin)
        grid.append({"top_terms": top_terms, "prompt_min_gain": min_gain, "spot_threshold": threshold,
                     "whisper_margin": margin, "wer": wer(tp, dev), "guard_wer": wer(tp, real)})
    best = grid[choose([g["wer"] for g in grid], [g["guard_wer"] for g in grid],
                       None if real_alone is None else real_alone + MAX_TERMS_WER_COST, TERMS_TUNE_TOLERANCE)]
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


def _inputs(adapted: Bundle, entries: Sequence[ManifestEntry]):
    """(entries, their 16 kHz waves, the adapted model's log-probabilities)."""
    from ..evaluate import entry_logprobs

    entries = list(entries)
    if not entries:
        return [], [], []
    return entries, [load_entry(e, adapted.sampling_rate) for e in entries], entry_logprobs(adapted, entries)
