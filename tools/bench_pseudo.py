"""How good are pseudo-labels, before and after filtering, on speech with known transcripts?

    .venv/bin/python tools/bench_pseudo.py --manifest data/real/mini-librispeech/test.jsonl --recordings 12
    .venv/bin/python tools/bench_pseudo.py --manifest ../shared/data/real-en-dev/manifest.jsonl --second general

Consecutive utterances of one speaker are joined (0.8 s pauses) into recordings of about a
minute, as a dictation or hearing would be; `speechtl.pseudo` cuts, labels and filters
them; each segment's reference is the text of the utterances whose middle falls inside it.
Prints the labels' WER over all segments and over the kept ones, and the share kept.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from itertools import groupby
from pathlib import Path

import numpy as np
import soundfile as sf

from speechtl.data.manifest import load_entry, read_manifest
from speechtl.metrics import score
from speechtl.pseudo import pseudo_label
from speechtl.alphabet import Alphabet
from speechtl.pseudo.filter import FilterConfig, Label, rejection
from speechtl.pseudo.run import LABELS_DIR
from speechtl.pseudo.teacher import CTCTeacher, WhisperTeacher
from speechtl.text import normalize

PAUSE_S = 0.8
RECORDING_S = 60.0


def build_recordings(manifest: str, count: int, folder: Path) -> list[tuple[Path, list[tuple[float, float, str]]]]:
    """Recordings of consecutive utterances per speaker, with each utterance's (start, end, text)."""
    entries = read_manifest(manifest)
    out = []
    for _, group in groupby(entries, key=lambda e: e.speaker):
        waves, spans, t = [], [], 0.0
        for e in group:
            wave = load_entry(e, 16_000)
            spans.append((t, t + len(wave) / 16_000, normalize(e.text)))
            waves += [wave, np.zeros(int(PAUSE_S * 16_000), np.float32)]
            t = spans[-1][1] + PAUSE_S
            if t >= RECORDING_S:
                out.append(_write(folder, len(out), waves, spans))
                waves, spans, t = [], [], 0.0
                if len(out) == count:
                    return out
        if spans:
            out.append(_write(folder, len(out), waves, spans))
            if len(out) == count:
                return out
    return out


def _write(folder: Path, index: int, waves: list[np.ndarray], spans: list) -> tuple[Path, list]:
    path = folder / f"rec-{index:03d}.wav"
    sf.write(path, np.concatenate(waves), 16_000)
    return path, spans


def units(utterances: list[tuple[float, float, str]], segs: list[dict]) -> list[tuple[str, str, list[dict]]]:
    """Groups of utterances and segments that overlap in time (an utterance split at an
    inner pause, segments that run over a join), as (reference, labels, segments)."""
    items = sorted([(s, e, "u", t) for s, e, t in utterances] +
                   [(r["offset"], r["offset"] + r["duration"], "s", r) for r in segs], key=lambda x: x[0])
    groups, end = [], -1.0
    for start, stop, kind, value in items:
        if not groups or start > end:
            groups.append([])
        groups[-1].append((kind, value))
        end = max(end, stop) if groups[-1][1:] else stop
    out = []
    for g in groups:
        seg_rows = [v for k, v in g if k == "s"]
        if seg_rows or any(k == "u" for k, _ in g):
            out.append((" ".join(v for k, v in g if k == "u"), " ".join(v["text"] for v in seg_rows), seg_rows))
    return out


def kept_share_and_wer(spans: dict, segments: dict, config: FilterConfig, agreement: bool) -> tuple[float, float]:
    """Re-filter the stored labels with ``config``: the share of units kept and their WER."""
    alphabet, kept, every = Alphabet.default(), [], []
    for path, segs in segments.items():
        for s in segs:
            label = Label(s["text"], s["avg_logprob"], s["no_speech_prob"], s["compression_ratio"])
            second = Label(s["second_text"], 0.0, 0.0, 0.0) if agreement and "second_text" in s else None
            s["kept"] = rejection(label, s["duration"], alphabet, config, second) is None
        for unit in units(spans[path], segs):
            every.append(unit)
            kept += [unit] if all(s["kept"] for s in unit[2]) else []
    wer = score([str(i) for i in range(len(kept))], [u[0] for u in kept], [u[1] for u in kept]).wer if kept else 0.0
    return len(kept) / max(len(every), 1), wer


def sweep(spans: dict, segments: dict) -> None:
    """Share kept and label WER at other thresholds (how the defaults in filter.py were chosen)."""
    agreement = any("second_text" in s for segs in segments.values() for s in segs)
    print("threshold                      kept %   label WER %")
    for lp in (-1.0, -0.7, -0.5, -0.3):
        share, wer = kept_share_and_wer(spans, segments, FilterConfig(min_avg_logprob=lp), False)
        print(f"avg log-prob >= {lp:<5}            {100 * share:6.1f}   {100 * wer:6.2f}")
    for lp in ((-1.0, -0.5) if agreement else ()):
        for d in (0.3, 0.5, 0.7):
            share, wer = kept_share_and_wer(spans, segments, FilterConfig(min_avg_logprob=lp, max_disagreement_wer=d), True)
            print(f"avg log-prob >= {lp:<5} agree <= {d}  {100 * share:6.1f}   {100 * wer:6.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--recordings", type=int, default=12)
    ap.add_argument("--teacher", default="whisper-tiny.en")
    ap.add_argument("--second", help="a speechtl model as second teacher (agreement filter), e.g. general")
    ap.add_argument("--terms", help="vocabulary file: its terms go to Whisper as hotwords (to measure whether that helps)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        recordings = build_recordings(args.manifest, args.recordings, Path(tmp))
        second = None
        if args.second:
            from speechtl.decode.policy import choose_decoding
            from speechtl.model.loader import load_pretrained
            from speechtl.model.offline import model_folder

            bundle = load_pretrained(args.second)
            second = CTCTeacher(bundle, choose_decoding(bundle.alphabet, model_folder(args.second)))
        t0 = time.time()
        hotwords = None
        if args.terms:
            from speechtl.vocabulary import Vocabulary

            hotwords = " ".join(t.text for t in Vocabulary.load(args.terms))
        report = pseudo_label([p for p, _ in recordings], Path(tmp) / "out", WhisperTeacher(args.teacher, hotwords),
                              second=second)
        seconds = time.time() - t0
        spans = {str(p.resolve()): s for p, s in recordings}
        segments: dict[str, list[dict]] = {}
        for file in (Path(tmp) / "out" / LABELS_DIR).glob("*.json"):
            data = json.loads(file.read_text())
            for kind in ("kept", "rejected"):
                for r in data[kind]:
                    segments.setdefault(r["audio_filepath"], []).append(dict(r, kept=kind == "kept"))
        rows = {"kept": [], "rejected": []}
        for path, segs in segments.items():
            for unit in units(spans[path], segs):
                rows["kept" if all(s["kept"] for s in unit[2]) else "rejected"].append(unit)
    audio_s = sum(s[-1][1] for _, s in recordings)
    every = rows["kept"] + rows["rejected"]
    wer = lambda rs: score([str(i) for i in range(len(rs))], [r[0] for r in rs], [r[1] for r in rs]).wer if rs else float("nan")  # noqa: E731
    print(f"{len(recordings)} recordings, {audio_s / 60:.1f} min, teacher {args.teacher}"
          f"{', second ' + args.second if args.second else ''}: {seconds:.0f} s")
    print(report.summary())
    print(f"units (overlapping utterances + segments) {len(every)}, kept {len(rows['kept'])} "
          f"({100 * len(rows['kept']) / max(len(every), 1):.0f}%)")
    print(f"label WER before filtering {100 * wer(every):.2f}%, kept {100 * wer(rows['kept']):.2f}%, "
          f"rejected {100 * wer(rows['rejected']):.2f}%")
    reasons: dict[str, int] = {}
    for _, _, segs in rows["rejected"]:
        for seg in segs:
            if not seg["kept"]:
                key = " ".join(w for w in seg["reason"].split() if w.isalpha())[:40]
                reasons[key] = reasons.get(key, 0) + 1
    print("rejected segments by reason:", reasons)
    sweep(spans, segments)


if __name__ == "__main__":
    main()
