"""Transcription speed, side by side in one run: model size, fp32 vs int8, batch 1 vs
batched, greedy vs +LM; then memory and time for 1, 10 and 30 minute inputs.

    .venv/bin/python tools/bench_transcribe.py
    .venv/bin/python tools/bench_transcribe.py --small runs/general/model/best --long 1 10 30

RTF = wall seconds / audio seconds, model load excluded. WER is on the fixed set
(../shared/data/real-en-dev when present, else the shipped sample); the base-sized
model has random weights (speed only), so its WER is not meaningful. The long-input
runs each use a fresh `speechtl transcribe` process, whose peak resident memory is read
back from the kernel.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from speechtl.alphabet import Alphabet
from speechtl.data.manifest import load_entry, read_manifest, validate
from speechtl.decode.beam import BeamDecoder
from speechtl.decode.policy import Decoding
from speechtl.samples import SAMPLE_MANIFEST
from speechtl.metrics import score
from speechtl.model.loader import load_pretrained, save_bundle
from speechtl.model.tiny import BASE_SIZED, random_wav2vec2
from speechtl.transcribe import Transcriber

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-en-dev" / "manifest.jsonl"


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def speed_rows(name: str, bundle, entries, waves, audio: float, meaningful: bool, lm: BeamDecoder | None):
    rows = []
    refs, ids = [e.text for e in entries], [e.id for e in entries]
    for int8 in (False, True):
        for batch in (1, 8):
            t = Transcriber(bundle, batch_size=batch, int8=int8)
            t.transcribe_waveforms(waves[:1])  # warm-up
            seconds, hyps = timed(lambda: t.transcribe_waveforms(waves))
            wer = score(ids, refs, [h.text for h in hyps]).wer if meaningful else None
            rows.append((name, "int8" if int8 else "fp32", batch, "greedy", seconds / audio, wer))
    if lm is not None:
        t = Transcriber(bundle, batch_size=8, decoding=Decoding(bundle.alphabet, lm, processes=2))
        seconds, hyps = timed(lambda: t.transcribe_waveforms(waves))
        rows.append((name, "fp32", 8, "+LM (2 procs)", seconds / audio, score(ids, refs, [h.text for h in hyps]).wer))
    return rows


def long_rows(model_dir: str, minutes: list[float], waves) -> list[tuple]:
    clip = np.concatenate(waves)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in minutes:
            n = int(m * 60 * 16000)
            path = Path(tmp) / f"long-{m:g}min.wav"
            sf.write(path, np.resize(clip, n), 16000, subtype="PCM_16")
            # VmHWM: the peak resident memory of this process image (ru_maxrss would carry
            # over the parent's peak across fork and exec)
            cmd = [sys.executable, "-c", "import sys; from speechtl.cli import main; code = main(sys.argv[1:]); "
                   "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]; "
                   "print('MAXRSS', hwm, file=sys.stderr); sys.exit(code)",
                   "transcribe", str(path), "--model", model_dir, "--decoder", "greedy", "--no-progress"]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            seconds = time.perf_counter() - t0
            rss = [line for line in proc.stderr.splitlines() if line.startswith("MAXRSS")]
            peak_mb = int(rss[-1].split()[1]) / 1024 if rss else float("nan")
            rows.append((m, seconds, seconds / (m * 60), peak_mb, proc.returncode))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", default="runs/general/model/best", help="a trained small model (Whisper-tiny CTC)")
    ap.add_argument("--long", type=float, nargs="*", default=[1, 10, 30], help="minutes of the long inputs")
    ap.add_argument("--skip-base-sized", action="store_true")
    ap.add_argument("--long-only", action="store_true", help="only the long-input memory runs")
    args = ap.parse_args()
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    manifest = SHARED if SHARED.is_file() else SAMPLE_MANIFEST
    entries = list(validate(read_manifest(manifest), Alphabet.default()).kept)
    waves = [load_entry(e, 16000) for e in entries]
    audio = sum(len(w) for w in waves) / 16000
    rows = []
    if not args.skip_base_sized and not args.long_only:
        rows += speed_rows("wav2vec2-base-sized", random_wav2vec2(Alphabet.default(), **BASE_SIZED), entries, waves,
                           audio, meaningful=False, lm=None)
    small_dir = args.small
    if Path(small_dir).is_dir() and not args.long_only:
        small = load_pretrained(small_dir)
        rows += speed_rows(f"small ({Path(small_dir).parent.parent.name})", small, entries, waves, audio, True,
                           BeamDecoder.load(small_dir))
    elif not Path(small_dir).is_dir():
        print(f"{small_dir} not found: run recipes/general/train.py for the small-model rows")
    print(f"fixed set: {manifest} ({len(entries)} utterances, {audio:.0f} s)")
    print(f"{'model':<28} {'weights':>7} {'batch':>5} {'decoder':>14} {'RTF':>7} {'WER %':>7}")
    for name, weights, batch, decoder, rtf, wer in rows:
        print(f"{name:<28} {weights:>7} {batch:>5} {decoder:>14} {rtf:>7.4f} "
              f"{'n/a' if wer is None else f'{100 * wer:.2f}':>7}")
    if args.long:
        target = small_dir if Path(small_dir).is_dir() else None
        if target is None:
            with tempfile.TemporaryDirectory() as tmp:
                target = str(save_bundle(random_wav2vec2(Alphabet.default(), **BASE_SIZED), Path(tmp) / "m"))
                results = long_rows(target, args.long, waves)
        else:
            results = long_rows(target, args.long, waves)
        print(f"\nlong inputs, `speechtl transcribe` ({target}), one process each:")
        print(f"{'minutes':>7} {'seconds':>8} {'RTF':>7} {'peak MB':>8}")
        for m, seconds, rtf, peak, code in results:
            print(f"{m:>7g} {seconds:>8.1f} {rtf:>7.4f} {peak:>8.0f}{'' if code == 0 else f'  (exit {code})'}")


if __name__ == "__main__":
    main()
