"""What a training run is told: one typed config, and the settings a resumed run may change."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model.freeze import FreezePolicy


@dataclass
class TrainConfig:
    output_dir: str = "runs/model"
    max_steps: int = 2000  # optimizer steps
    batch_size: int = 8  # utterances per micro-batch, per process
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
    eval_batch_size: int = 8
    num_workers: int = 0
    seed: int = 0
    freeze: FreezePolicy = field(default_factory=FreezePolicy)
    progress: bool = True
    overwrite: bool = False  # start over in an output_dir that holds another run

# Settings a resumed run may change: how long it goes on and how it shows progress.
RESUMABLE_CHANGES = {"output_dir", "max_steps", "eval_every", "patience", "progress", "num_workers",
                     "eval_batch_size", "cache_dir", "cache_max_gb", "overwrite"}


@dataclass(frozen=True)
class TrainResult:
    best_dir: Path
    best_wer: float
    steps: int
    history: tuple[dict[str, Any], ...]
    stopped_early: bool
