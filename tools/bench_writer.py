"""An adapted writer against the original, on a finished recipe run's sets.

    .venv/bin/python tools/bench_writer.py --recipe recipes/legal --set lr=1e-4 --set steps=40 --name c
    .venv/bin/python tools/bench_writer.py --recipe recipes/legal --writer runs/legal/model/best/writer
    .venv/bin/python tools/bench_writer.py --recipe recipes/legal --name c --merge 0.5 --sets real-dev,real-test
    .venv/bin/python tools/bench_writer.py --recipe recipes/medical --writer whisper-tiny.en \
        --writer runs/medical/model/best/writer --manifest librispeech=data/real/ls-dev.jsonl --sets librispeech

Trains Whisper's decoder (training/writer.py, ``--set`` takes WriterConfig fields) on
the run's training set into ``{run}/writer-{name}`` (kept: a rerun with the same name
only scores), or scores the ``--writer`` given, then prints WER and term recall of
Whisper alone, Whisper prompted with the heard terms, and the two-pass at the run's tuned
settings with that writer, on the held-out-engine test, the generated test and
``../shared``'s real-en-dev, and the prepared real dev and held-out speakers (``--sets``
chooses). ``--merge S`` scores, after it, the writer S of the way from the original to it
(``training.writer.interpolate_writer``, kept as ``{writer}-mS``). ``--writer whisper-tiny.en``
scores the original; ``--writer`` again scores more writers on the same sets (their CTC
posteriors computed once); ``--base whisper-base`` trains from another Whisper, ``--train``
on another manifest (the run's training set with real speech added, say).
``--manifest NAME=PATH`` adds a set of your own (real speech the run has not seen) for
``--sets`` to name. ``--retune`` scores each writer at the run's prompt with its spotting
tuned again on dev, as the two-pass stage tunes an adapted writer's
(``recipe.twopass.own_spotting``). ``--route`` has the original writer write the clips
where the scored writer's text holds no term, as the recipe does with an adapted writer
(``decode/twopass.TwoPass.general``). The original writer's rows are also in the run's own
report (``{run}/report/report.md``), made by the same code.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

SETS = ("test", "generated", "real-en-dev", "real-dev", "real-test")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recipe", default="recipes/legal", help="recipe folder whose run (cpu preset) is scored")
    ap.add_argument("--writer", action="append", default=[],
                    help="a CTranslate2 Whisper to score instead of training one (again: several)")
    ap.add_argument("--base", help="the Whisper a writer is trained from (default: the recipe's first writer)")
    ap.add_argument("--train", metavar="MANIFEST", help="train the writer on this manifest, not the run's training set")
    ap.add_argument("--name", default="bench", help="the trained writer's folder: {run}/writer-NAME")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a WriterConfig field")
    ap.add_argument("--merge", action="append", type=float, default=[], metavar="S",
                    help="also score the writer S of the way from the original to it (0 < S < 1)")
    ap.add_argument("--manifest", action="append", default=[], metavar="NAME=PATH",
                    help="a manifest of your own, scored as set NAME")
    ap.add_argument("--retune", action="store_true", help="tune each writer's spotting again on dev (as the recipe does)")
    ap.add_argument("--route", action="store_true",
                    help="the original writer writes where the scored one's text holds no term (as the recipe does)")
    ap.add_argument("--sets", default="test,generated,real-en-dev", help="of: " + ", ".join(SETS) + " and --manifest's")
    args = ap.parse_args()

    from speechtl.config import apply_overrides
    from speechtl.evaluate import decodable_logprobs, evaluate_methods
    from speechtl.recipe.data import SHARED_REAL_EN_DEV, find_shared
    from speechtl.recipe.evaluate import decodings
    from speechtl.recipe.outputs import DataOut, LMOut, TrainOut, TwoPassOut, from_json
    from speechtl.recipe.runner import Recipe, load_presets
    from speechtl.recipe.writer import first_writer
    from speechtl.training.writer import WriterConfig, interpolate_writer, train_writer

    recipe = Recipe(load_presets(args.recipe)["cpu"]())
    run = recipe.config.work_path

    def stage(name: str, kind: type):
        return from_json(kind, json.loads((run / "stages" / f"{name}.json").read_text()))

    data, trained, lm, two_pass = (stage("data", DataOut), stage("train", TrainOut), stage("lm", LMOut),
                                   stage("two_pass", TwoPassOut))
    base = args.base or first_writer(recipe.config)
    writers = list(args.writer)
    if not writers:
        writer = str(run / f"writer-{args.name}")
        if not Path(writer, "model.bin").is_file():
            config = apply_overrides(WriterConfig(output_dir=writer), args.set)
            t0 = time.perf_counter()
            result = train_writer(base, recipe._valid(args.train or data.train), config,
                                  terms=[t.text for t in recipe.vocabulary])
            print(f"trained {writer}: {result.windows} windows, loss {result.losses[0]:.3f} -> "
                  f"{sum(result.losses[-10:]) / len(result.losses[-10:]):.3f}, {time.perf_counter() - t0:.0f} s")
        writers = [writer]
    for writer in list(writers):
        for share in args.merge:
            merged = f"{writer}-m{share:g}"
            if not Path(merged, "model.bin").is_file():
                interpolate_writer(base, writer, share, merged)
            writers.append(merged)
    bundle = recipe._adapted(trained)
    shared = find_shared(SHARED_REAL_EN_DEV)
    manifests = {"test": data.test, "generated": data.generated_test, "real-en-dev": str(shared) if shared else "",
                 "real-dev": data.real_dev, "real-test": data.real_test}
    for extra in args.manifest:
        name, sep, path = extra.partition("=")
        if not (sep and name and path):
            ap.error(f"--manifest {extra!r}: NAME=PATH")
        manifests[name] = path
    sets = {}
    for name in args.sets.split(","):
        if not manifests.get(name):
            print(f"{name}: not prepared, skipped")
            continue
        entries, logprobs, _ = decodable_logprobs(bundle, recipe._valid(manifests[name], bundle))
        sets[name] = entries, logprobs
    # the tuning sets for --retune, read and heard by the CTC model once for every writer
    tuning = tuning_sets(recipe, data, bundle) if args.retune else None
    # the writer the run tuned its settings with: the original, also where the run kept an
    # adapted writer (two_pass.whisper is then the adapted one, at its own settings)
    original_name, settings = two_pass.original
    original = None
    if args.route:  # the original writer, loaded once for every scored one
        from speechtl.model.seq2seq import WhisperRecognizer

        original = WhisperRecognizer(original_name, encoder_cache=64)
    for scored_writer in writers:
        print(scored_writer)
        # the run's tuned two-pass with this writer (the kept writer at its own settings); no other writer's rows
        config = two_pass.config if scored_writer == two_pass.whisper else settings
        with_writer = dataclasses.replace(two_pass, whisper=scored_writer, config=config, adapted_writer=None)
        hearing = {k: m for k, m in decodings(bundle, trained, lm, with_writer, recipe.vocabulary).items()
                   if m.needs_audio}
        if original is not None and scored_writer != original_name:
            hearing = {k: m.with_whisper(m.whisper, general=original) if k != "whisper" else m
                       for k, m in hearing.items()}
        if tuning is not None and "two-pass" in hearing:
            hearing["two-pass"] = retuned(recipe.config, hearing["two-pass"], two_pass, tuning, bundle.frame_shift)
        for name, (entries, logprobs) in sets.items():
            t0 = time.perf_counter()
            # results beside a writer folder; an offline name's (whisper-tiny.en) in the run, not the cwd
            folder = "bench-routed" if args.route and scored_writer != original_name else "bench"
            out = Path(scored_writer) / folder if Path(scored_writer).is_dir() else run / f"bench-{scored_writer}"
            scored = evaluate_methods(bundle, entries, out, name, hearing,
                                      recipe.vocabulary, logprobs=logprobs)
            for method, ev in scored.items():
                recall = ev.terms.recall if ev.terms and ev.terms.recall is not None else None
                print(f"{name:12s} {method:14s} WER {100 * ev.score.wer:6.2f}%  term recall "
                      + (f"{100 * recall:6.2f}%" if recall is not None else "   n/a"))
            print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)


def tuning_sets(recipe, data, bundle) -> tuple:
    """(dev, real dev) as the two-pass stage tunes on them: (entries, waves, log-probabilities)."""
    from speechtl.evaluate import decodable_logprobs, load_entry

    def inputs(manifest: str, limit: int | None = None):
        if not manifest:
            return [], [], []
        entries, logprobs, _ = decodable_logprobs(bundle, recipe._valid(manifest, bundle)[:limit])
        return entries, [load_entry(e, bundle.sampling_rate) for e in entries], logprobs

    return inputs(data.dev, recipe.config.data.dev_utterances), inputs(data.real_dev)


def retuned(config, two_pass, tuned, tuning: tuple, frame_shift: float):
    """``two_pass`` (a writer at the run's settings) with its spotting tuned again on dev
    (``tuning``: dev and real dev), real dev guarded against the original writer alone."""
    from speechtl.recipe.twopass import own_spotting

    real_alone = tuned.general_dev_wer["whisper"] if tuned.general_dev_wer else None
    spotting = own_spotting(config, two_pass, two_pass.config, real_alone, *tuning, frame_shift)
    print(f"spotting tuned again: threshold {spotting.spot_threshold}, Whisper's margin {spotting.whisper_margin}, "
          f"near spellings {spotting.near_spelling}", flush=True)
    return two_pass.with_config(spotting)

if __name__ == "__main__":
    main()
