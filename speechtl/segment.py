"""Cut long recordings with a whole-document transcript into utterances.

    speechtl segment --model runs/general/best --audio interview.wav --transcript interview.txt \\
        --output-dir data/interviews

The acoustic model's CTC output over the whole recording is aligned to the
transcript's sentences with CTC segmentation (the ``ctc-segmentation`` package,
Kürzinger et al. 2020). Each sentence gets a start, an end and a confidence (the
worst mean log-probability over any window of its characters); sentences below
``min_confidence`` are dropped and counted. The manifest points into the long file
with ``offset`` and ``duration``, so no audio is copied.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .data.audio import audio_info, load_audio
from .data.manifest import ManifestEntry, write_manifest
from .errors import SpeechtlError
from .text import split_sentences
from .model.loader import Bundle
from .text import normalize
from .model.chunked import AcousticModel

DEFAULT_MIN_CONFIDENCE = -3.0  # log-probability; ctc-segmentation's authors suggest about -2 to -5
_PLACEHOLDERS = "\u2400\u2401\u2402\u2403"  # stand-ins for multi-character special tokens


@dataclass(frozen=True)
class Segment:
    text: str
    start: float  # seconds
    end: float  # seconds
    confidence: float  # log-probability


@dataclass(frozen=True)
class SegmentationReport:
    kept: tuple[Segment, ...]
    dropped: tuple[Segment, ...]
    manifest: Path | None


def transcript_sentences(text: str) -> list[str]:
    """Split a whole-document transcript into sentences; speaker labels ("D:") are dropped."""
    sentences = []
    for line in text.splitlines():
        line = line.strip()
        if len(line) > 2 and line[1] == ":" and line[0].isalpha():  # "P: ...", "D: ..."
            line = line[2:]
        sentences += [s for s in split_sentences(line) if normalize(s)]
    return sentences


def align(bundle: Bundle, audio: np.ndarray, sentences: Sequence[str], batch_size: int = 4) -> list[Segment]:
    """Start, end and confidence of each sentence in ``audio`` (16 kHz mono)."""
    try:
        from ctc_segmentation import CtcSegmentationParameters, ctc_segmentation, determine_utterance_segments
        from ctc_segmentation import prepare_text
    except ImportError:
        raise SpeechtlError("segmentation needs the ctc-segmentation package: pip install ctc-segmentation") from None
    texts = [normalize(s) for s in sentences]
    if not any(texts):
        raise SpeechtlError("the transcript has no words")
    acoustic = AcousticModel(bundle, batch_size=batch_size)
    logprobs = acoustic.logits([acoustic.check_length(audio, "the recording")])[0]
    symbols, spare = [], iter(_PLACEHOLDERS)
    for s in bundle.alphabet.symbols:  # ctc-segmentation wants one character per symbol
        symbols.append(s if len(s) == 1 else next(spare))
    config = CtcSegmentationParameters(char_list=symbols, index_duration=bundle.frame_shift)
    config.blank = bundle.alphabet.blank_id
    delimiter = bundle.alphabet.symbols[bundle.alphabet.delimiter_id]
    kept_texts = [t for t in texts if t]
    ground_truth, starts = prepare_text(config, [t.replace(" ", delimiter) for t in kept_texts])
    if len(ground_truth) > len(logprobs):
        raise SpeechtlError(f"the transcript ({len(ground_truth)} characters) is longer than the audio can hold "
                            f"({len(logprobs)} frames): wrong transcript for this file?")
    timings, char_probs, _ = ctc_segmentation(config, logprobs.astype(np.float64), ground_truth)
    found = determine_utterance_segments(config, starts, char_probs, timings, kept_texts)
    return [Segment(t, round(float(a), 3), round(float(b), 3), float(c)) for t, (a, b, c) in zip(kept_texts, found)]


def segment_recording(bundle: Bundle, audio_path: str | os.PathLike[str], transcript: str,
                      output_dir: str | os.PathLike[str] | None = None, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                      speaker: str | None = None) -> SegmentationReport:
    """Align ``transcript`` (whole document) to ``audio_path``; write ``segments.jsonl`` to ``output_dir``."""
    info = audio_info(audio_path)
    segments = align(bundle, load_audio(audio_path, bundle.sampling_rate), transcript_sentences(transcript))
    kept = tuple(s for s in segments if s.confidence >= min_confidence and s.end > s.start)
    dropped = tuple(s for s in segments if s not in kept)
    manifest = None
    if output_dir is not None:
        manifest = Path(output_dir) / "segments.jsonl"
        stem = Path(audio_path).stem
        write_manifest(manifest, [
            ManifestEntry(f"{stem}-{i:04d}", str(Path(audio_path).resolve()), round(s.end - s.start, 3), s.text,
                          speaker=speaker, offset=s.start, extra={"confidence": round(s.confidence, 3)})
            for i, s in enumerate(kept) if s.end <= info.duration + 0.05
        ])
    return SegmentationReport(kept, dropped, manifest)
