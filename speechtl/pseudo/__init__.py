"""Untranscribed domain recordings become training data: cut at pauses, labelled by a
teacher, filtered, written as a speechtl manifest.

    speechtl pseudo-label hearings/ --output-dir data/pseudo --teacher whisper-tiny.en

    ../data/vad.py  speech segments of a long recording (Silero VAD, as faster-whisper ships it)
    teacher.py  teachers: faster-whisper with the offline Whisper weights; speechtl's own CTC model
    filter.py   why a label is not trusted (confidence, no-speech, repetition, rates, agreement)
    run.py      the resumable loop over files: manifest.jsonl, rejected.jsonl, done.jsonl
"""

from .filter import FilterConfig, Label, rejection
from .run import PseudoReport, pseudo_label

__all__ = ["FilterConfig", "Label", "PseudoReport", "pseudo_label", "rejection"]
