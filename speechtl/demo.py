"""The built-in default job: the whole pipeline on the sample shipped with speechtl.

    speechtl demo

It writes a small random Wav2Vec2 checkpoint, loads it through the normal loader,
fine-tunes it on the six shipped utterances (espeak-ng speech, see
speechtl/samples/README.md) until it has learned them, then transcribes and
scores them with the same code a real model goes through. A model that has seen
its test set proves the plumbing, not accuracy: the recipes under recipes/
adapt real pretrained checkpoints.
"""

from __future__ import annotations

import json
from pathlib import Path

from .alphabet import Alphabet
from .data.manifest import read_manifest, validate
from .evaluate import evaluate_manifest
from .samples import SAMPLE_MANIFEST
from .fileio import write_text
from .model.freeze import FreezePolicy
from .model.loader import load_pretrained
from .model.tiny import write_random_checkpoint
from .training import TrainConfig, train
from .transcribe import Transcriber, to_json


# A random model learns everything: all layers train, at one high learning rate.
DEMO_POLICY = FreezePolicy(freeze_feature_encoder=False, trainable_layers="all",
                           train_feature_projection=True, lr_head=3e-3, lr_layers=3e-3)


def run_demo(output_dir: str | Path = "runs/demo", steps: int = 300) -> dict:
    out = Path(output_dir)
    alphabet = Alphabet.default()
    sample = validate(read_manifest(SAMPLE_MANIFEST), alphabet, on_error="fail").kept

    print(f"[1/4] writing a random tiny Wav2Vec2 checkpoint to {out / 'base'}")
    if not (out / "base").exists():
        write_random_checkpoint(out / "base", alphabet)
    bundle = load_pretrained(out / "base", alphabet)

    print(f"[2/4] fine-tuning on {len(sample)} sample utterances for {steps} steps")
    config = TrainConfig(output_dir=str(out / "train"), max_steps=steps, batch_size=len(sample), warmup_steps=20,
                         eval_every=50, patience=0, mask_time_prob=0.0, freeze=DEMO_POLICY)
    result = train(bundle, sample, sample, config)

    print(f"[3/4] transcribing the sample with {result.best_dir}")
    best = load_pretrained(result.best_dir)
    transcripts = list(Transcriber(best).transcribe_files([e.audio_filepath for e in sample]))
    write_text(out / "transcripts.jsonl", "".join(json.dumps(to_json(t)) + "\n" for t in transcripts))

    print("[4/4] scoring")
    ev, _ = evaluate_manifest(best, SAMPLE_MANIFEST, out / "results", set_name="sample")
    for t in transcripts:
        print(f"  {Path(t.path).name}: {t.text}")
    print(f"WER {100 * ev.score.wer:.2f}%  CER {100 * ev.score.cer:.2f}% on the sample it was trained on; "
          f"results in {out / 'results'}")
    return {"wer": ev.score.wer, "cer": ev.score.cer, "model": str(result.best_dir)}
