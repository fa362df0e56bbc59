"""Real-time factor of transcription for a wav2vec2-base-sized model.

    .venv/bin/python tools/bench_rtf.py                 # 10 s clip, CPU
    .venv/bin/python tools/bench_rtf.py --seconds 30 --device cuda

Builds a randomly initialised model of wav2vec2-base's shape (95M parameters, the
speed of a real one: no hub access needed) and a clip of the shipped sample speech,
then prints, side by side in one run:
  - the Transcriber's RTF (model loaded and warm; median of --repeats),
  - the whole `speechtl transcribe` command's wall time and RTF, start-up included.
RTF = processing seconds / audio seconds; below 1 is faster than real time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from speechtl.data.audio import load_audio
from speechtl.data.manifest import read_manifest
from speechtl.samples import SAMPLE_MANIFEST
from speechtl.model.loader import load_pretrained
from speechtl.model.tiny import BASE_SIZED, write_random_checkpoint
from speechtl.transcribe import Transcriber
from transformers.utils import logging as hf_logging


def speech_clip(seconds: float, sr: int = 16_000) -> np.ndarray:
    """Sample sentences repeated until ``seconds`` long: real speech, not noise."""
    waves = [load_audio(e.audio_filepath, sr) for e in read_manifest(SAMPLE_MANIFEST)]
    clip = np.concatenate(waves * (int(seconds * sr) // sum(map(len, waves)) + 1))
    return clip[: int(seconds * sr)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    hf_logging.disable_progress_bar()

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = write_random_checkpoint(Path(tmp) / "base-sized", **BASE_SIZED)
        clip_path = Path(tmp) / "clip.wav"
        sf.write(clip_path, speech_clip(args.seconds), 16_000)

        bundle = load_pretrained(model_dir)
        params = sum(p.numel() for p in bundle.model.parameters())
        transcriber = Transcriber(bundle, device=args.device)
        list(transcriber.transcribe_files([clip_path]))  # warm-up
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            list(transcriber.transcribe_files([clip_path]))
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        warm = statistics.median(times)

        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "speechtl.cli", "transcribe", str(clip_path), "--model", str(model_dir),
                        "--device", args.device, "--no-progress"], check=True, capture_output=True)
        cli = time.perf_counter() - t0

    print(f"model: wav2vec2-base shape, {params / 1e6:.1f}M parameters; device {args.device}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"clip: {args.seconds:.1f} s of speech")
    print(f"{'measure':<40} {'seconds':>8} {'RTF':>7}")
    print(f"{'Transcriber, warm (median of %d)' % args.repeats:<40} {warm:>8.3f} {warm / args.seconds:>7.3f}")
    print(f"{'speechtl transcribe CLI, cold':<40} {cli:>8.3f} {cli / args.seconds:>7.3f}")


if __name__ == "__main__":
    main()
