"""The writer stage: Whisper's decoder fine-tuned on the domain's training audio
(:mod:`speechtl.training.writer`), then kept only where it earns its place.

The adapted writer goes into the model folder (``{model}/writer``, a CTranslate2 folder
as the original is) and the two-pass stage tries it with the prompt it tuned for the
original writer, its spotting tuned again, its text kept where it holds a term (the original
writes the rest: decode/twopass.TwoPass.general): it is kept when its two-pass dev WER is lower
and, on real general speech (the prepared real dev speakers, ``../shared``'s real-en-dev,
and the long-form sets: real-en-dev joined into one recording when nothing else is
named), neither Whisper alone nor the two-pass lose more than ``MAX_TERMS_WER_COST``
against the original writer; otherwise the original stays and the report says why.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import time
from pathlib import Path
from typing import Callable, Sequence

from ..constants import MAX_TERMS_WER_COST
from ..data.manifest import ManifestEntry
from ..errors import SpeechtlError
from ..metrics import score
from ..vocabulary import Vocabulary
from .config import RecipeConfig
from .outputs import DataOut, TrainOut, WriterOut

WRITER_DIR = "writer"  # in the adapted model's folder; two-pass.json names it relative to it


def first_writer(c: RecipeConfig) -> str | None:
    """The writer the adapted one starts from: the first of ``two_pass.writers``."""
    writers = [w.strip() for w in (c.two_pass.writers or "").split(",") if w.strip()]
    return writers[0] if writers else None


def adapts_writer(c: RecipeConfig) -> bool:
    """Whether the writer stage trains: it is on and there is a two-pass writer to adapt."""
    return c.writer is not None and first_writer(c) is not None


def stage_writer(c: RecipeConfig, data: DataOut, trained: TrainOut, vocabulary: Vocabulary,
                 valid: Callable[[str], list[ManifestEntry]]) -> WriterOut:
    """Fine-tune the first writer's decoder on the training set (``c.writer``; None: off)."""
    base = first_writer(c)
    if not adapts_writer(c):
        return WriterOut(skipped="off" if c.writer is None else "no two-pass writer")
    try:
        from ..model.whisper_writer import ctranslate2_folder

        ctranslate2_folder(base)
        if c.writer.lora_rank and importlib.util.find_spec("peft") is None:
            raise SpeechtlError("writer.lora_rank needs peft: pip install 'speechtl[lora]' (or --set writer.lora_rank=0)")
    except Exception as exc:  # the writer's weights, faster-whisper or peft missing: the rest still stands
        print(f"writer stage skipped: {exc}", flush=True)
        return WriterOut(skipped=str(exc))
    from ..training.writer import train_writer

    output = Path(trained.model) / WRITER_DIR
    result = train_writer(base, valid(data.train), dataclasses.replace(c.writer, output_dir=str(output)),
                          terms=[t.text for t in vocabulary])
    print(f"writer: {base}'s decoder trained on {result.windows} windows, loss {result.losses[0]:.3f} -> "
          f"{sum(result.losses[-10:]) / len(result.losses[-10:]):.3f} ({result.seconds:.0f} s)", flush=True)
    return WriterOut(folder=str(output), base=base, windows=result.windows, first_loss=result.losses[0],
                     last_loss=sum(result.losses[-10:]) / len(result.losses[-10:]))


def judge_writer(two_pass, adapted_whisper, configs: dict[str, object], dev, guard_sets: dict[str, tuple],
                 original_dev_wer: dict[str, float], frame_shift: float,
                 adapted_configs: dict[str, object] | None = None) -> dict:
    """The adapted writer against the original: ``configs`` label -> the original's
    TwoPassConfig ("whisper": alone, "two_pass": as chosen), ``adapted_configs`` the adapted
    writer's where they differ (its own spotting: recipe/twopass.py); ``dev`` and each guard
    set (entries, waves, log-probabilities); ``original_dev_wer``: the original's dev WER per
    label. The adapted writer's text is kept where it holds a term, the original's elsewhere.
    Returns what was measured and whether it is kept (and why not)."""
    original, adapted = two_pass, two_pass.with_whisper(adapted_whisper, general=two_pass.whisper)
    ours_of = {**configs, **(adapted_configs or {})}
    dev_entries, dev_waves, dev_logprobs = dev
    t0 = time.perf_counter()
    dev_wer = {label: _wer(dev_entries, adapted.with_config(config).texts(dev_logprobs, frame_shift, dev_waves))
               for label, config in ours_of.items()}
    guard: dict[str, dict[str, dict[str, float]]] = {}
    lost = []
    for name, (entries, waves, logprobs) in guard_sets.items():
        guard[name] = {}
        for label, config in configs.items():
            ours = _wer(entries, adapted.with_config(ours_of[label]).texts(logprobs, frame_shift, waves))
            theirs = _wer(entries, original.with_config(config).texts(logprobs, frame_shift, waves))
            guard[name][label] = {"adapted": ours, "original": theirs}
            if ours > theirs + MAX_TERMS_WER_COST:
                lost.append(f"{name} {label} {100 * ours:.2f}% vs {100 * theirs:.2f}%")
    ours, theirs = (dev_wer["two_pass"], dev_wer["whisper"]), (original_dev_wer["two_pass"], original_dev_wer["whisper"])
    if ours >= theirs:  # the two-pass first, Whisper alone breaking a tie
        reason = (f"dev two-pass WER {100 * ours[0]:.2f}% not below the original's {100 * theirs[0]:.2f}%"
                  + (f" (a tie; Whisper alone {100 * ours[1]:.2f}% vs {100 * theirs[1]:.2f}%)" if ours[0] == theirs[0] else ""))
    elif lost:
        reason = "real general speech lost more than 0.5 points: " + "; ".join(lost)
    else:
        reason = None
    return {"dev_wer": dev_wer, "guard": guard, "kept": reason is None, "reason": reason, "routed": True,
            "seconds": round(time.perf_counter() - t0, 1)}


def _wer(entries: Sequence[ManifestEntry], hyps: Sequence[str]) -> float:
    return score([e.id for e in entries], [e.text for e in entries], hyps).wer
