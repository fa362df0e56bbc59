"""Where the two-pass's time goes on a set of clips, against Whisper alone in the same run.

    .venv/bin/python tools/profile_two_pass.py --manifest data/legal/test-heldout/train.jsonl \\
        --model runs/legal/model/best            # the settings the recipe saved in two-pass.json
    .venv/bin/python tools/profile_two_pass.py --manifest ... --model ... --pack   # clips packed into windows

Prints the acoustic model's, the CTC search's and the rest of the two-pass's seconds,
faster-whisper alone's (tiny.en int8, beam 5, clip by clip, as a user runs it), their
ratio, both WERs, and the two-pass's most expensive calls (cProfile, cumulative).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--model", required=True, help="a recipe's model folder (its decoder, terms and two-pass.json)")
    ap.add_argument("--limit", type=int, default=0, help="first N clips only")
    ap.add_argument("--pack", action="store_true", help="short clips packed into shared Whisper windows")
    ap.add_argument("--calls", type=int, default=25, help="profiled calls printed")
    args = ap.parse_args()

    from faster_whisper import WhisperModel

    from speechtl.alphabet import Alphabet
    from speechtl.data.manifest import load_entry, read_manifest
    from speechtl.decode.beam import BeamDecoder
    from speechtl.decode.policy import Decoding
    from speechtl.decoders import load_two_pass
    from speechtl.metrics import score
    from speechtl.model.chunked import AcousticModel
    from speechtl.model.loader import load_pretrained
    from speechtl.model.offline import resolve_offline

    entries = list(read_manifest(args.manifest))
    entries = entries[: args.limit] if args.limit else entries
    waves = [load_entry(e, 16_000) for e in entries]
    ids, refs = [e.id for e in entries], [e.text for e in entries]
    bundle = load_pretrained(args.model, Alphabet.default())
    acoustic_model = AcousticModel(bundle, batch_size=1)
    acoustic_model.logits(waves[:1])  # warm-up
    t0 = time.perf_counter()
    logprobs = acoustic_model.logits(waves)
    acoustic = time.perf_counter() - t0
    two_pass = load_two_pass(Decoding(bundle.alphabet, BeamDecoder.load(args.model)), args.model)
    two_pass = two_pass.with_config(pack_clips=args.pack)
    t0 = time.perf_counter()  # the beam searches fork workers: before Whisper's threads start
    two_pass.search_first(logprobs, bundle.frame_shift, waves)
    search = time.perf_counter() - t0
    two_pass.whisper.transcribe(waves[0][:16_000 * 5])  # warm-up

    alone_model = WhisperModel(str(resolve_offline("whisper-tiny.en")), device="cpu", compute_type="int8",
                               cpu_threads=2)
    t0 = time.perf_counter()
    alone = [" ".join(s.text for s in alone_model.transcribe(w, beam_size=5, language="en", vad_filter=False)[0])
             for w in waves]
    alone_s = time.perf_counter() - t0

    profile = cProfile.Profile()
    t0 = time.perf_counter()
    profile.enable()
    hyps = two_pass.texts(logprobs, bundle.frame_shift, waves)
    profile.disable()
    rest = time.perf_counter() - t0
    audio = sum(len(w) for w in waves) / 16_000
    print(f"{len(waves)} clips, {audio:.0f} s of audio; two-pass: acoustic {acoustic:.1f} s, CTC search {search:.1f} s, "
          f"the rest {rest:.1f} s; Whisper alone {alone_s:.1f} s; ratio {(acoustic + search + rest) / alone_s:.2f}")
    print(f"WER: Whisper alone {100 * score(ids, refs, alone).wer:.2f}%, "
          f"two-pass{' packed' if args.pack else ''} {100 * score(ids, refs, hyps).wer:.2f}%")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(args.calls)


if __name__ == "__main__":
    main()
