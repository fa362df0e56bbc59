"""Resumable runs: what a checkpoint holds, and which run it belongs to.

A checkpoint (``last.pt``) carries the weights, optimizer, scheduler, data position,
history and every RNG state, so a resumed run continues exactly as an unbroken one
would; hashes of the base weights, the data and the settings make sure it is resumed
only by the same run. It holds only tensors and plain values (the RNG states as lists),
so it is read with ``torch.load(weights_only=True)``: a file that is not speechtl's
cannot run code when a run resumes from it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from ..data.manifest import ManifestEntry
from ..errors import SpeechtlError
from ..fileio import atomic_path, clean_stale_temps, recover_dir
from ..model.loader import Bundle
from .config import RESUMABLE_CHANGES, TrainConfig


@dataclass
class RunState:
    """What a checkpoint must hold to continue exactly where a run stopped."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best_wer: float = math.inf
    bad_evals: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def model_fingerprint(bundle: Bundle) -> dict[str, Any]:
    model = bundle.model
    return {"alphabet": list(bundle.alphabet.symbols),
            "parameters": sum(p.numel() for p in model.parameters()),
            "model_type": model.config.model_type}


def run_fingerprint(bundle: Bundle, train_entries: Sequence[ManifestEntry], dev_entries: Sequence[ManifestEntry],
                    config: TrainConfig) -> dict[str, str]:
    """Hashes of what defines a run: the starting weights, the data and the settings."""
    def digest(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    with torch.no_grad():
        weights = [f"{float(p.double().sum()):.6e}" for p in bundle.model.parameters()]
    data = "\n".join(f"{e.id}|{e.text}|{e.duration:.2f}" for e in train_entries)
    data += "\ndev\n" + "\n".join(f"{e.id}|{e.text}" for e in dev_entries)
    settings = {k: v for k, v in config_dict(config).items() if k not in RESUMABLE_CHANGES}
    return {"base": digest(",".join(weights)), "data": digest(data), "settings": digest(json.dumps(settings, sort_keys=True))}


LOCK_FILE = ".train.lock"


@contextmanager
def run_lock(out: Path) -> Iterator[None]:
    """Hold ``out``'s training lock for the ``with`` block: a second run into the same
    folder is refused while this one runs (the lock goes with the process, so a killed
    run leaves none behind)."""
    import fcntl

    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOCK_FILE, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "?"
            raise SpeechtlError(f"{out}: another training run (process {holder}) is writing there; wait for it "
                                f"to finish, or choose another --output-dir") from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def prepare_output_dir(out: Path, overwrite: bool) -> None:
    """Finish or undo what a killed run left half-done; with ``overwrite``, start clean."""
    if overwrite:
        for name in ("last.pt", "best", "history.json", "train-config.json"):
            target = out / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    if out.is_dir():
        recover_dir(out / "best")  # killed between the two renames that replace best/
        clean_stale_temps(out)


def save_checkpoint(path: Path, model, optimizer, scheduler, scaler, state: RunState, bundle: Bundle,
                     run: dict[str, str]) -> None:
    payload = {"run": run,
        "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(), "state": asdict(state), "fingerprint": model_fingerprint(bundle),
        "rng": {"torch": torch.get_rng_state(), "numpy": _numpy_state(), "python": random.getstate()},
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: Path, model, optimizer, scheduler, scaler, bundle: Bundle, run: dict[str, str]) -> RunState:
    try:  # tensors and plain values only: unpickling cannot call anything
        payload = torch.load(path, map_location="cpu", weights_only=True)
        payload["state"], payload["fingerprint"], payload["rng"]["numpy"]
    except Exception as exc:
        raise SpeechtlError(f"{path}: not a speechtl checkpoint, or a damaged one ({type(exc).__name__}); "
                            f"delete it to start over, or pass --set overwrite=true") from None
    if payload["fingerprint"] != model_fingerprint(bundle):
        raise SpeechtlError(
            f"{path} belongs to a run with another model or alphabet; "
            f"choose a new output folder or delete {path} to start over")
    changed = [k for k, v in run.items() if payload.get("run", run).get(k) != v]
    if changed:
        raise SpeechtlError(
            f"{path.parent} holds another run (its {' and '.join(changed)} differ from this one's): "
            f"choose another --output-dir (a recipe: --work-dir), or pass --set overwrite=true (a recipe: "
            f"--set train.overwrite=true) to start over there")
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    scaler.load_state_dict(payload["scaler"])
    torch.set_rng_state(payload["rng"]["torch"])
    name, keys, pos, has_gauss, cached = payload["rng"]["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    random.setstate(_tuples(payload["rng"]["python"]))
    return RunState(**payload["state"])


def _numpy_state() -> list:
    """numpy's global RNG state as plain values (its key array as a list of ints)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def _tuples(value):
    """Python's RNG state as ``random.setstate`` wants it (nested tuples)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def config_dict(config: TrainConfig) -> dict[str, Any]:
    d = asdict(config)
    return json.loads(json.dumps(d, default=str))
