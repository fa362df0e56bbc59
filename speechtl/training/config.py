"""What a training run is told: one typed config, and the settings a resumed run may change."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..constants import DEFAULT_BATCH_SIZE
from ..errors import SpeechtlError
from ..model.freeze import FreezePolicy

PRECISIONS = ("auto", "fp32", "fp16", "bf16")


@dataclass
class TrainConfig:
    output_dir: str = "runs/model"
    max_steps: int = 2000  # optimizer steps
    batch_size: int = DEFAULT_BATCH_SIZE  # utterances per micro-batch, per process
    grad_accum_steps: int = 1
    warmup_steps: int = 100
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    eval_every: int = 100  # optimizer steps between dev evaluations (and checkpoints)
    patience: int = 5  # evaluations without a better dev WER before stopping; 0: never stop early
    precision: str = "auto"  # auto | fp32 | fp16 | bf16; auto = bf16/fp16 on GPU, fp32 on CPU
    mask_time_prob: float = 0.05  # SpecAugment through the model config
    mask_time_length: int = 10
    mask_feature_prob: float = 0.0
    mask_feature_length: int = 10
    layerdrop: float = 0.0
    cache_prefix: bool = True  # train on cached outputs of the frozen bottom when everything below is frozen
    cache_dir: str = ""  # default: {output_dir}/prefix-cache
    cache_max_gb: float = 20.0  # bigger corpora train without the cache
    max_duration: float = 20.0  # seconds; longer training utterances are left out
    anchor_weight: float = 0.0  # L2-SP: pull trainable weights toward the starting checkpoint's (0: off)
    eval_batch_size: int = DEFAULT_BATCH_SIZE
    num_workers: int = 0
    seed: int = 0
    freeze: FreezePolicy = field(default_factory=FreezePolicy)
    progress: bool = True
    overwrite: bool = False  # start over in an output_dir that holds another run
    strict: bool = False  # an utterance whose audio fails to load stops the run (else it is skipped and counted)

    def check(self) -> None:
        """Every setting in its range, or one line naming those that are not (before any work)."""
        at_least = {"max_steps": 1, "batch_size": 1, "grad_accum_steps": 1, "eval_every": 1, "eval_batch_size": 1,
                    "warmup_steps": 0, "patience": 0, "num_workers": 0, "mask_time_length": 1,
                    "mask_feature_length": 1, "weight_decay": 0.0, "anchor_weight": 0.0, "cache_max_gb": 0.0}
        bad = [f"{k}={getattr(self, k)} (at least {v})" for k, v in at_least.items() if not getattr(self, k) >= v]
        bad += [f"{k}={getattr(self, k)} (must be above 0)" for k in ("max_grad_norm", "max_duration")
                if not getattr(self, k) > 0]
        bad += [f"{k}={getattr(self, k)} (a probability, 0 to 1)" for k in ("mask_time_prob", "mask_feature_prob")
                if not 0 <= getattr(self, k) <= 1]
        if not 0 <= self.layerdrop < 1:
            bad.append(f"layerdrop={self.layerdrop} (0 to below 1)")
        bad += [f"freeze.{k}={getattr(self.freeze, k)} (at least 0)" for k in ("lr_head", "lr_layers")
                if not getattr(self.freeze, k) >= 0]
        if self.precision not in PRECISIONS:
            bad.append(f"precision={self.precision!r} (one of {', '.join(PRECISIONS)})")
        if bad:
            raise SpeechtlError("bad training settings: " + "; ".join(bad))

# Settings a resumed run may change: how long it goes on and how it shows progress.
RESUMABLE_CHANGES = {"output_dir", "max_steps", "eval_every", "patience", "progress", "num_workers",
                     "eval_batch_size", "cache_dir", "cache_max_gb", "overwrite", "strict"}


@dataclass(frozen=True)
class TrainResult:
    best_dir: Path
    best_wer: float
    steps: int
    history: tuple[dict[str, Any], ...]
    stopped_early: bool
    skipped: tuple[str, ...] = ()  # ids of training utterances left out: too long, or audio that failed to load
