"""Do the pronunciation hints make the engines say the terms? Each hinted term of a
recipe, in a carrier sentence, spoken by each engine three ways: as written (no hint),
with the hint as it is in terms.csv (stress in capitals), and with the hint as the
synthesizer now gives it (synth/engines.apply_hints: lowercase). A Whisper that was not
trained on any of these voices judges the audio: prompted with the term (as the two-pass
prompts it), does it write the term?

    .venv/bin/python tools/bench_hints.py --recipe legal --terms 30
    .venv/bin/python tools/bench_hints.py --recipe medical --voices piper-joe,kokoro-alpha --whisper whisper-tiny.en

Prints the terms where the ways differ as it goes, then term recall per engine and way.
"""

from __future__ import annotations

import argparse
import random
from collections import defaultdict
from speechtl.domains import domain_terms
from speechtl.errors import SpeechtlError
from speechtl.metrics import occurrences
from speechtl.model.seq2seq import WhisperRecognizer
from speechtl.synth.engines import apply_hints, available_voices, synthesize
from speechtl.text import normalize

CARRIER = "we talked about {} this morning"
DEFAULT_VOICES = "piper-joe,espeak-en-us,flite-kal16,festival-kal,kokoro-alpha"
WAYS = ("plain", "hint as written", "hint as spoken")


def spoken_ways(words: str, hint: str, engine: str) -> dict[str, str]:
    """The carrier sentence three ways for one engine."""
    text = CARRIER.format(words)
    return {"plain": text, "hint as written": CARRIER.format(hint),
            "hint as spoken": apply_hints(text, {words: hint}, engine)}


def said(term_words: str, transcript: str) -> bool:
    return bool(occurrences(normalize(transcript).split(), tuple(term_words.split())))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", default="legal", help="the domain whose term list is read (legal, medical, ...)")
    ap.add_argument("--terms", type=int, default=30, help="hinted terms drawn (seeded); 0: all")
    ap.add_argument("--voices", default=DEFAULT_VOICES)
    ap.add_argument("--whisper", default="whisper-base")
    args = ap.parse_args()

    try:
        hinted = sorted(domain_terms(args.recipe).hints().items())
    except SpeechtlError as exc:
        ap.error(str(exc))
    if args.terms:
        hinted = random.Random(0).sample(hinted, min(args.terms, len(hinted)))
    voices = available_voices(args.voices.split(","))
    judge = WhisperRecognizer(args.whisper, threads=2)
    hits: dict[tuple[str, str], list[bool]] = defaultdict(list)
    print("where the ways differ (+: the term written):", flush=True)
    for words, hint in hinted:
        for voice in voices:
            ways = spoken_ways(words, hint, voice.engine)
            got = {way: judge.transcribe(synthesize(voice, text), hotwords=words).text for way, text in ways.items()}
            right = {way: said(words, text) for way, text in got.items()}
            for way in WAYS:
                hits[(voice.engine, way)].append(right[way])
            if len(set(right.values())) > 1:  # (printed as they come: a long run shows progress)
                print(f"{voice.name:<14} {words!r} ({hint}): " + " | ".join(
                    f"{way} {'+' if right[way] else '-'} {got[way]}" for way in WAYS), flush=True)
    print(f"\n{len(hinted)} hinted {args.recipe} terms in {CARRIER!r}, judged by {args.whisper} prompted with the term")
    print(f"{'engine':<10}" + "".join(f"{way:>18}" for way in WAYS))
    for engine in dict.fromkeys(v.engine for v in voices):
        print(f"{engine:<10}" + "".join(f"{100 * sum(hits[(engine, w)]) / len(hits[(engine, w)]):>17.1f}%" for w in WAYS))
    total = {w: [h for (e, way), hs in hits.items() if way == w for h in hs] for w in WAYS}
    print(f"{'all':<10}" + "".join(f"{100 * sum(total[w]) / len(total[w]):>17.1f}%" for w in WAYS))


if __name__ == "__main__":
    main()
