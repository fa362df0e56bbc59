"""Long recordings as a user runs them: `speechtl transcribe --two-pass` against
faster-whisper alone, side by side in one run, start-up included.

    .venv/bin/python tools/make_longform.py joined ../shared/data/real-en-dev/manifest.jsonl \\
        --output-dir data/longform/real-en-dev --pause 0.4 1.2
    .venv/bin/python tools/bench_longform.py --manifest data/longform/real-en-dev/recordings.jsonl \\
        --terms data/longform/five-terms.csv --model general --whisper whisper-tiny.en --whisper whisper-base

For each writer: faster-whisper alone (int8, beam 5, its own long-form decoding: 30-second
windows conditioned on the text before, temperature fallback), one process over every
recording timed from its start to its exit; then one `speechtl transcribe --model MODEL --two-pass WRITER
--terms TERMS` process over every recording, timed from its start to its exit. Prints
WER, CER, term recall, RTF and the two-pass's time as a multiple of Whisper alone's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from speechtl.data.manifest import read_manifest, write_manifest
from speechtl.metrics import score, term_accuracy
from speechtl.vocabulary import Vocabulary


def figures(entries, hyps, vocab: Vocabulary, seconds: float) -> dict:
    result = score([e.id for e in entries], [e.text for e in entries], hyps)
    terms = term_accuracy(result, vocab.phrases()) if len(vocab) else None
    audio = sum(e.duration for e in entries)
    return {"wer": result.wer, "cer": result.cer, "deleted": result.words.deletions,
            "recall": None if terms is None else terms.recall, "seconds": seconds, "rtf": seconds / audio}


# faster-whisper alone, as a user runs it: one process, from its start to its exit
ALONE = """
import json, sys
from faster_whisper import WhisperModel
folder, threads, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
model = WhisperModel(folder, device="cpu", compute_type="int8", cpu_threads=threads)
texts = []
for path in paths:
    segments, _ = model.transcribe(path, beam_size=5, language="en", vad_filter=False)
    texts.append(" ".join(s.text for s in segments))
print(json.dumps(texts))
"""


def whisper_alone(entries, writer: str, threads: int) -> tuple[list[str], float]:
    from speechtl.model.offline import resolve_offline

    cmd = [sys.executable, "-c", ALONE, str(resolve_offline(writer) or writer), str(threads),
           *[e.audio_filepath for e in entries]]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"faster-whisper failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), seconds


def two_pass(entries, model: str, writer: str, terms: str | None) -> tuple[list[str], float]:
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "speechtl.cli", "transcribe", "--model", model, "--two-pass", writer,
               "--format", "json", "--output-dir", out, "--no-progress", *(["--terms", terms] if terms else []),
               *[e.audio_filepath for e in entries]]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if done.returncode:
            raise SystemExit(f"speechtl transcribe failed ({done.returncode}):\n{done.stderr[-3000:]}")
        texts = {}
        for f in Path(out).rglob("*.json"):
            row = json.loads(f.read_text())
            texts[str(Path(row["path"]).resolve())] = row["text"]
    return [texts[str(Path(e.audio_filepath).resolve())] for e in entries], seconds


def save_hyps(folder: Path, writer: str, entries, alone: list[str], ours: list[str]) -> None:
    """Each system's texts as a manifest (the recordings with their hypotheses as text), to
    score or read again without decoding."""
    name = Path(writer).name
    for system, hyps in ((f"{name}-alone", alone), (f"{name}-two-pass", ours)):
        write_manifest(folder / f"{system}.jsonl", [replace(e, text=h) for e, h in zip(entries, hyps)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True, help="long recordings (tools/make_longform.py)")
    ap.add_argument("--terms", help="vocabulary file: the two-pass's terms and the recall scored")
    ap.add_argument("--model", default="general", help="the CTC model of the two-pass")
    ap.add_argument("--whisper", action="append", default=[], help="writer (repeatable; default whisper-tiny.en)")
    ap.add_argument("--threads", type=int, default=2, help="faster-whisper CPU threads (speechtl uses its own default)")
    ap.add_argument("--hyps-dir", help="write each system's texts here (a manifest per system, the text its hypothesis)")
    args = ap.parse_args()
    entries = read_manifest(args.manifest)
    vocab = Vocabulary.load(args.terms) if args.terms else Vocabulary()
    audio = sum(e.duration for e in entries)
    print(f"{args.manifest}: {len(entries)} recordings, {audio / 60:.1f} min", flush=True)
    print(f"{'system':52s} {'WER %':>6s} {'CER %':>6s} {'deleted':>7s} {'recall %':>8s} {'RTF':>7s} {'x alone':>7s}")
    for writer in args.whisper or ["whisper-tiny.en"]:
        alone_hyps, seconds = whisper_alone(entries, writer, args.threads)
        alone = figures(entries, alone_hyps, vocab, seconds)
        hyps, seconds = two_pass(entries, args.model, writer, args.terms)
        ours = figures(entries, hyps, vocab, seconds)
        if args.hyps_dir:
            save_hyps(Path(args.hyps_dir), writer, entries, alone_hyps, hyps)
        for name, f in ((f"faster-whisper {writer} alone (its long-form)", alone),
                        (f"speechtl transcribe --model {args.model} --two-pass {writer}", ours)):
            recall = "n/a" if f["recall"] is None else f"{100 * f['recall']:.1f}"
            print(f"{name:52s} {100 * f['wer']:6.2f} {100 * f['cer']:6.2f} {f['deleted']:7d} {recall:>8s} "
                  f"{f['rtf']:7.4f} {f['seconds'] / alone['seconds']:7.2f}", flush=True)


if __name__ == "__main__":
    main()
