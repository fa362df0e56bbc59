"""Decoding speed: greedy, beam, beam + LM, beam + LM + 50 / 500 terms, term spotting.

    .venv/bin/python tools/bench_decode.py
    .venv/bin/python tools/bench_decode.py --seconds 1800          # a 30-minute file's worth
    .venv/bin/python tools/bench_decode.py --corpus ../shared/corpora/medical-dialogue --seconds 120

CTC log-probabilities of realistic shape are simulated from corpus sentences: 50
frames per second (wav2vec2's 20 ms), 31 symbols, each character held 1-3 frames
between blanks, 10-25% of each frame's mass spread over three confusable
symbols. The LM is a 4-gram built from the same corpus; terms are its rarer long
words. Every row decodes the same logits in one run, and prints seconds of decode
per second of audio. speechtl's term booster is compared with pyctcdecode's own
hotword scorer on the same search. Term spotting (decode/spotting.py) runs after
the search with 50 / 500 / 1000 terms; its rows are reported as ratios to beam + LM.
Words the LM does not know trigger spotting, so a tenth of the corpus words are
left out of the LM text to leave the search some letter soup to check.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from speechtl.alphabet import Alphabet
from speechtl.decode.beam import BeamConfig, BeamDecoder
from speechtl.decode.greedy import greedy_decode
from speechtl.lm.build import build_lm, lm_sentences, read_lines
from speechtl.vocabulary import Vocabulary

FRAME_SHIFT = 0.02
DEFAULT_CORPUS = Path(__file__).parents[1].parent / "shared" / "corpora" / "medical-dialogue"


def simulate_logprobs(text: str, alphabet: Alphabet, rng: np.random.Generator) -> np.ndarray:
    rows = []
    for ch in text:
        target = alphabet.delimiter_id if ch == " " else alphabet.vocab[ch]
        for sym in [target] * int(rng.integers(1, 4)) + [alphabet.blank_id] * int(rng.integers(1, 3)):
            p = np.full(len(alphabet), 1e-5)
            spread = rng.uniform(0.10, 0.25)
            p[sym] = 1.0 - spread
            p[rng.choice(len(alphabet), 3, replace=False)] += spread / 3
            rows.append(p / p.sum())
    return np.log(np.array(rows, dtype=np.float32))


def timed(fn, logprobs, repeats: int = 2) -> float:
    """Best of ``repeats`` passes over every utterance (the first pass of the first decoder of
    a kind pays one-off costs: thread pools, allocations)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for lp in logprobs:
            fn(lp)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="text file or folder (default: shared medical dialogue)")
    ap.add_argument("--seconds", type=float, default=60.0, help="audio seconds of logits to decode")
    ap.add_argument("--beam-width", type=int, default=32)
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    alphabet = Alphabet.default()
    corpus = Path(args.corpus)
    if corpus.exists():
        lines = list(read_lines([corpus]))
    else:  # no shared corpus: the shipped sample's transcripts, repeated
        from speechtl.data.manifest import read_manifest
        from speechtl.samples import SAMPLE_MANIFEST

        lines = [e.text for e in read_manifest(SAMPLE_MANIFEST)] * 20
    sentences = [s for s in lm_sentences(lines) if len(s.split()) >= 4]
    # utterances of ~10 s until the requested audio length
    logprobs, frames = [], 0
    for s in rng.permutation(len(sentences)):
        lp = simulate_logprobs(sentences[s], alphabet, rng)
        logprobs.append(lp)
        frames += len(lp)
        if frames * FRAME_SHIFT >= args.seconds:
            break
    audio = frames * FRAME_SHIFT
    counts = Counter(w for s in sentences for w in s.split())
    long_words = [w for w, c in sorted(counts.items(), key=lambda kv: (kv[1], kv[0])) if len(w) >= 6]
    if len(long_words) < 1000:  # filler terms: letters only (the alphabet has no digits)
        filler = (f"term{a}{b}{c}" for a in "abcdefghij" for b in "klmnopqrst" for c in "uvwxyz")
        long_words += [next(filler) for _ in range(1000 - len(long_words))]
    unknown = set(rng.choice(sorted(counts), len(counts) // 10, replace=False))

    with tempfile.TemporaryDirectory() as tmp:
        lm = Path(tmp) / "lm.arpa"
        build_lm([" ".join(w for w in s.split() if w not in unknown) for s in sentences], lm, order=4)
        beam = BeamDecoder(alphabet, config=BeamConfig(beam_width=args.beam_width))
        beam_lm = BeamDecoder(alphabet, lm, config=beam.config)
        rows = [("greedy", timed(lambda lp: greedy_decode(lp, alphabet, FRAME_SHIFT), logprobs)),
                ("beam, no LM", timed(lambda lp: beam.decode(lp, FRAME_SHIFT), logprobs)),
                ("beam + LM", timed(lambda lp: beam_lm.decode(lp, FRAME_SHIFT), logprobs))]
        for n in (50, 500):
            vocab = Vocabulary(long_words[:n])
            ours = beam_lm.with_changes(vocabulary=vocab)
            rows.append((f"beam + LM + {n} terms (speechtl)", timed(lambda lp: ours.decode(lp, FRAME_SHIFT), logprobs)))
        pyctc = beam_lm.with_changes()._decoder  # the same search, pyctcdecode's hotword scorer
        for n in (50, 500):
            words = long_words[:n]
            rows.append((f"beam + LM + {n} hotwords (pyctcdecode)", timed(
                lambda lp: pyctc.decode(lp, beam_width=args.beam_width, hotwords=words, hotword_weight=3.0), logprobs)))

        for n in (50, 500, 1000):
            spotting = beam_lm.with_changes(vocabulary=Vocabulary(long_words[:n]), spot_threshold=0.0)
            rows.append((f"beam + LM + {n} terms + spotting", timed(lambda lp: spotting.decode(lp, FRAME_SHIFT), logprobs)))

    print(f"{len(logprobs)} utterances, {audio:.0f} s of simulated audio, {frames} frames; beam width {args.beam_width}")
    print(f"{'decoder':<42} {'s per audio s':>14} {'x real time':>12}")
    for name, secs in rows:
        print(f"{name:<42} {secs / audio:>14.5f} {audio / secs:>12.0f}")
    base = dict(rows)["beam + LM"]
    print(f"ratio 500 terms / no terms: speechtl {dict(rows)['beam + LM + 500 terms (speechtl)'] / base:.2f}, "
          f"pyctcdecode {dict(rows)['beam + LM + 500 hotwords (pyctcdecode)'] / base:.2f}")
    print("term spotting, ratio to beam + LM: " + ", ".join(
        f"{n} terms {dict(rows)[f'beam + LM + {n} terms + spotting'] / base:.2f}" for n in (50, 500, 1000)))


if __name__ == "__main__":
    main()
