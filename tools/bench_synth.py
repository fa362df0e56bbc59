"""Synthesis speed per engine: audio seconds produced per wall-clock second.

    .venv/bin/python tools/bench_synth.py            # 12 sentences per voice, one process
    .venv/bin/python tools/bench_synth.py --sentences 30

Runs every installed voice serially on the same legal and medical sentences (no
augmentation, no cache), so the figures compare engines, not parallelism; the
corpus builder runs ``--workers`` of these in parallel.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

from speechtl.domains import generate
from speechtl.synth.engines import available_voices, synthesize
from speechtl.text import normalize


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=12)
    args = ap.parse_args()
    sentences = [normalize(s) for s in generate("legal", args.sentences // 2, 7) + generate("medical", args.sentences - args.sentences // 2, 7)]
    per_engine: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    print(f"{'voice':<26} {'audio s':>8} {'wall s':>7} {'x real time':>12}")
    for voice in available_voices():
        synthesize(voice, "warm up")  # piper loads its model once
        t0 = time.perf_counter()
        audio = sum(len(synthesize(voice, s)) for s in sentences) / 16000
        wall = time.perf_counter() - t0
        per_engine[voice.engine][0] += audio
        per_engine[voice.engine][1] += wall
        print(f"{voice.name:<26} {audio:>8.1f} {wall:>7.2f} {audio / wall:>12.1f}")
    print()
    for engine, (audio, wall) in per_engine.items():
        print(f"engine {engine:<19} {audio:>8.1f} {wall:>7.2f} {audio / wall:>12.1f}")


if __name__ == "__main__":
    main()
