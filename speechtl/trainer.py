"""Fine-tune a CTC model on manifests: a plain loop that reads top to bottom.

    from speechtl import load_pretrained, train, TrainConfig
    bundle = load_pretrained("facebook/wav2vec2-base-960h")
    result = train(bundle, train_entries, dev_entries, TrainConfig(output_dir="runs/legal"))

Multi-GPU: the same script under ``torchrun --nproc_per_node=4 script.py`` uses
DistributedDataParallel; rank 0 evaluates and writes.

Files in ``output_dir``:
    best/             the best model by dev WER, Hugging Face layout (+ processor)
    last.pt           everything needed to resume (weights, optimizer, data position)
    history.json      one row per evaluation: step, train loss, dev WER/CER, lr
    train-config.json the config this run used
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import os
import random
import shutil
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from .data.dataset import SpeechDataset, collate
from .data.manifest import ManifestEntry
from .errors import SpeechtlError
from .evaluate import evaluate_entries
from .fileio import atomic_path, clean_stale_temps, recover_dir, write_json
from .model.freeze import FreezePolicy
from .cache import CachedDataset, PrefixCache, collate_hidden
from .model.loader import Bundle, is_whisper, save_bundle
from .model.split import ctc_loss, first_trainable_layer, suffix

log = logging.getLogger(__name__)


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


@dataclass
class _State:
    """What a checkpoint must hold to continue exactly where a run stopped."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best_wer: float = math.inf
    bad_evals: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def train(bundle: Bundle, train_entries: Sequence[ManifestEntry], dev_entries: Sequence[ManifestEntry],
          config: TrainConfig) -> TrainResult:
    """Fine-tune ``bundle.model`` in place; resume from ``output_dir/last.pt`` if present."""
    out = Path(config.output_dir)
    rank, world, device = _setup_distributed()
    _seed_everything(config.seed + rank)
    train_entries = [e for e in train_entries if e.duration <= config.max_duration]
    if not train_entries:
        raise SpeechtlError(f"no training utterances of at most {config.max_duration}s")

    # The model: SpecAugment and a mean-reduced CTC loss live in its config.
    model = bundle.model
    _configure_model(model, config)
    report = config.freeze.apply(model)
    if rank == 0:
        log.info("parameters per block:\n%s", report.table())
    model.to(device)
    optimizer = torch.optim.AdamW(config.freeze.param_groups(model), weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _linear_warmup_decay(config))
    amp_dtype = _amp_dtype(config.precision, device)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)

    # L2-SP anchor: the starting weights, taken before a resume can change them. Adapting
    # to synthetic domain audio then cannot wander far from what the base learned on real speech.
    anchors = [(p, p.detach().clone()) for p in model.parameters() if p.requires_grad] \
        if config.anchor_weight > 0 else []

    # Resume: weights, optimizer, data position and history all come back, but only for
    # the same run (base weights, data, settings): anything else is someone else's run.
    run = run_fingerprint(bundle, train_entries, dev_entries, config)
    state = _State()
    last = out / "last.pt"
    if rank == 0:
        _prepare_output_dir(out, config.overwrite)
    if last.exists():
        state = _load_checkpoint(last, model, optimizer, scheduler, scaler, bundle, run)
        if rank == 0:
            log.info("resuming from %s at step %d", last, state.step)
    if state.step >= config.max_steps and (out / "best").exists():
        # a finished run: say so instead of training past max_steps
        if rank == 0:
            print(f"{out}: finished before ({state.step} of {config.max_steps} steps); nothing to do", flush=True)
        return TrainResult(out / "best", state.best_wer, state.step, tuple(state.history), False)
    if rank == 0:
        write_json(out / "train-config.json", _config_dict(config))

    # The frozen prefix: computed once per utterance when it can be, then only the top trains.
    dataset, collate_fn, step_model = _data_and_step(bundle, train_entries, config, rank, world, device)
    train_model = step_model
    if world > 1:
        train_model = torch.nn.parallel.DistributedDataParallel(
            step_model, device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=config.layerdrop > 0)
    bar = tqdm(total=config.max_steps, initial=state.step, desc="train", unit="step",
               disable=True if rank != 0 or not config.progress else None, dynamic_ncols=True)
    running_loss, running_n = 0.0, 0
    stopped_early = False
    model.train()
    micro = 0
    ctrl_c = _CtrlC()
    try:
        for batch in _batches(dataset, collate_fn, config, state, rank, world):
            # Ctrl-C is taken here, between micro-batches: raised anywhere else it can land
            # in a finalizer that swallows it, and the run would go on.
            ctrl_c.check()
            # One micro-batch: forward under autocast, backward, maybe an optimizer step.
            micro += 1
            sync = micro % config.grad_accum_steps == 0
            with _maybe_no_sync(train_model, sync):
                with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                    loss = train_model(batch)
                objective = loss + config.anchor_weight * anchor_penalty(anchors) if anchors else loss
                scaler.scale(objective / config.grad_accum_steps).backward()
            running_loss += float(loss.detach())
            running_n += 1
            if not sync:
                continue
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], config.max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state.step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{running_loss / max(running_n, 1):.3f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")

            if state.step % config.eval_every == 0 or state.step >= config.max_steps:
                # Evaluate, keep the best model, checkpoint; all on rank 0.
                stop = False
                if rank == 0:
                    stop = _evaluate_and_save(bundle, dev_entries, config, state, running_loss / max(running_n, 1),
                                              scheduler.get_last_lr()[0], device)
                    _save_checkpoint(last, model, optimizer, scheduler, scaler, state, bundle, run)
                    # Written after the checkpoint, so it never claims steps a resume would lose.
                    write_json(out / "history.json", state.history)
                    bar.set_postfix(loss=f"{running_loss / max(running_n, 1):.3f}", dev_wer=f"{state.history[-1]['dev_wer']:.3f}")
                running_loss, running_n = 0.0, 0
                model.train()
                stop = _broadcast_flag(stop, world, device)
                if stop:
                    stopped_early = state.step < config.max_steps
                    break
            if state.step >= config.max_steps:
                break
    except KeyboardInterrupt:
        if rank == 0:  # say what survives: the checkpoint of the last evaluation, and best/
            kept = state.history[-1]["step"] if state.history else 0
            print(f"\ninterrupted at step {state.step}: {last} holds step {kept}, {out / 'best'} the best model "
                  f"so far; the same command resumes from step {kept}", file=sys.stderr, flush=True)
        raise
    finally:
        ctrl_c.restore()
    bar.close()
    if world > 1:
        dist.barrier()
    if not (out / "best").exists() and rank == 0:  # no evaluation ran: keep what we have
        save_bundle(bundle, out / "best")
    return TrainResult(out / "best", state.best_wer, state.step, tuple(state.history), stopped_early)


class _CtrlC:
    """A SIGINT handler that only notes the interrupt (a second one interrupts at once);
    the loop raises KeyboardInterrupt at its next safe point."""

    def __init__(self) -> None:
        self.pressed = False
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._note)

    def _note(self, signum, frame) -> None:
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True

    def check(self) -> None:
        if self.pressed:
            raise KeyboardInterrupt

    def restore(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None


def anchor_penalty(anchors: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """Squared distance of the trainable weights from where they started (L2-SP)."""
    return sum(((p - p0.to(p.device)) ** 2).sum() for p, p0 in anchors)


def _evaluate_and_save(bundle: Bundle, dev_entries: Sequence[ManifestEntry], config: TrainConfig, state: _State,
                       train_loss: float, lr: float, device: torch.device) -> bool:
    """Score dev, save the best model, update patience; True means stop."""
    out = Path(config.output_dir)
    row: dict[str, Any] = {"step": state.step, "train_loss": train_loss, "lr": lr, "time": time.time()}
    if dev_entries:
        result = evaluate_entries(bundle, dev_entries, config.eval_batch_size, device)
        row.update(dev_wer=result.wer, dev_cer=result.cer)
    else:  # no dev set: the training loss decides what "best" is
        row.update(dev_wer=train_loss, dev_cer=float("nan"))
    state.history.append(row)
    if row["dev_wer"] < state.best_wer:
        state.best_wer = row["dev_wer"]
        state.bad_evals = 0
        save_bundle(bundle, out / "best", {"step": state.step, "dev_wer": row["dev_wer"]})
    else:
        state.bad_evals += 1
    return config.patience > 0 and state.bad_evals >= config.patience


def _batches(dataset, collate_fn, config: TrainConfig, state: _State, rank: int, world: int) -> Iterator[dict]:
    """Endless shuffled micro-batches, resumable: the order depends on (seed, epoch)
    only, so a resumed run skips the batches it already saw without loading them."""
    while True:
        order = np.random.default_rng(config.seed + state.epoch).permutation(len(dataset))
        order = order[rank::world]  # each process takes its own share
        batches = [order[i:i + config.batch_size].tolist() for i in range(0, len(order), config.batch_size)]
        batches = batches[state.batch_in_epoch:]
        # Its own generator: creating a loader must not draw from the global RNG,
        # or a resumed run's dropout and masks would differ from an unbroken run's.
        loader = DataLoader(dataset, batch_sampler=batches, num_workers=config.num_workers, collate_fn=collate_fn,
                            generator=torch.Generator().manual_seed(config.seed + state.epoch))
        for batch in loader:
            state.batch_in_epoch += 1
            if batch is not None:
                yield batch
        state.epoch += 1
        state.batch_in_epoch = 0


class _FullStep(torch.nn.Module):
    """One training forward through the whole model: the loss of a waveform batch."""

    def __init__(self, model: torch.nn.Module, use_mask: bool) -> None:
        super().__init__()
        self.model, self.use_mask = model, use_mask

    def forward(self, batch: dict) -> torch.Tensor:
        device = next(self.model.parameters()).device
        mask = batch["attention_mask"].to(device) if self.use_mask else None
        return self.model(input_values=batch["input_values"].to(device), attention_mask=mask,
                          labels=batch["labels"].to(device)).loss


class _SuffixStep(torch.nn.Module):
    """One training forward from cached prefix outputs: SpecAugment at the cut, then
    the trainable layers, the head and the CTC loss."""

    def __init__(self, model: torch.nn.Module, k: int) -> None:
        super().__init__()
        self.model, self.k = model, k

    def forward(self, batch: dict) -> torch.Tensor:
        device = next(self.model.parameters()).device
        hidden, frames = batch["hidden"].to(device), batch["frames"].to(device)
        hidden = mask_hidden(self.model, hidden, frames)
        logits = suffix(self.model, hidden, frames, self.k)
        return ctc_loss(logits, frames, batch["labels"].to(device), self.model.config)


def mask_hidden(model: torch.nn.Module, hidden: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """SpecAugment on hidden states: time spans get the learned mask vector (zeros where
    the model has none), channel bands get zeros. Only in training mode."""
    from transformers.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices

    c = model.config
    if not model.training or not getattr(c, "apply_spec_augment", False):
        return hidden
    batch, length, dim = hidden.shape
    hidden = hidden.clone()
    if c.mask_time_prob > 0 and length > c.mask_time_length:
        spans = _compute_mask_indices((batch, length), c.mask_time_prob, c.mask_time_length,
                                      attention_mask=frames.long().cpu(), min_masks=2)
        spans = torch.from_numpy(spans).to(hidden.device) & frames
        vector = getattr(model.base_model, "masked_spec_embed", None) if not is_whisper(model) else None
        hidden[spans] = vector.to(hidden.dtype) if vector is not None else 0.0
    if c.mask_feature_prob > 0 and dim > c.mask_feature_length:
        bands = _compute_mask_indices((batch, dim), c.mask_feature_prob, c.mask_feature_length)
        hidden[torch.from_numpy(bands).to(hidden.device)[:, None, :].expand(-1, length, -1)] = 0.0
    return hidden


def _data_and_step(bundle: Bundle, entries: Sequence[ManifestEntry], config: TrainConfig, rank: int, world: int,
                   device: torch.device):
    """Dataset, collate function and step module: cached when the prefix is frozen."""
    model = bundle.model
    k = first_trainable_layer(model) if config.cache_prefix else None
    if k is not None:
        cache = PrefixCache(bundle, k, config.cache_dir or Path(config.output_dir) / "prefix-cache",
                            config.cache_max_gb)
        if cache.fits(entries):
            if rank == 0:
                computed = cache.fill(entries, config.eval_batch_size, config.progress)
                log.info("frozen prefix (below layer %d) cached for %d utterances (%d new) in %s",
                         k, len(entries), computed, cache.dir)
            if world > 1:
                dist.barrier()
            return CachedDataset(entries, cache, bundle.alphabet), collate_hidden, _SuffixStep(model, k)
        log.warning("prefix cache would exceed %.0f GB: training without it", config.cache_max_gb)
    dataset = SpeechDataset(entries, bundle.alphabet, bundle.sampling_rate)
    return dataset, functools.partial(collate, normalize=bundle.normalize_audio), \
        _FullStep(model, bundle.uses_attention_mask)


def _configure_model(model: torch.nn.Module, config: TrainConfig) -> None:
    c = model.config
    c.mask_time_prob = config.mask_time_prob
    c.mask_time_length = config.mask_time_length
    c.mask_feature_prob = config.mask_feature_prob
    c.mask_feature_length = config.mask_feature_length
    c.layerdrop = config.layerdrop
    c.apply_spec_augment = config.mask_time_prob > 0 or config.mask_feature_prob > 0
    if is_whisper(model):
        c.encoder_layerdrop = config.layerdrop
        return  # Whisper masks its mel input (zeros); no learned mask vector
    base = model.base_model
    if c.apply_spec_augment and getattr(base, "masked_spec_embed", None) is None:
        # Checkpoints saved without masking lack the learned mask vector; add it
        # with transformers' own initialisation.
        base.masked_spec_embed = torch.nn.Parameter(torch.empty(c.hidden_size).uniform_())
    c.ctc_loss_reduction = "mean"  # loss per target token: comparable across batch sizes
    c.ctc_zero_infinity = True  # an utterance too short for its text must not poison a batch


def _linear_warmup_decay(config: TrainConfig):
    def factor(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / max(1, config.warmup_steps)
        remaining = config.max_steps - step
        return max(0.0, remaining / max(1, config.max_steps - config.warmup_steps))
    return factor


def _amp_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if precision in ("bf16", "fp16"):
        return {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    raise SpeechtlError(f"precision must be auto, fp32, fp16 or bf16, not {precision!r}")


def _setup_distributed() -> tuple[int, int, torch.device]:
    """Under torchrun: join the process group, one GPU per local rank."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, torch.device("cuda" if torch.cuda.is_available() else "cpu")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        return dist.get_rank(), world, torch.device("cuda", local_rank)
    return dist.get_rank(), world, torch.device("cpu")


def _maybe_no_sync(model: torch.nn.Module, sync: bool):
    """Skip DDP's gradient all-reduce on micro-batches that only accumulate."""
    from contextlib import nullcontext

    if not sync and hasattr(model, "no_sync"):
        return model.no_sync()
    return nullcontext()


def _broadcast_flag(flag: bool, world: int, device: torch.device) -> bool:
    if world == 1:
        return flag
    t = torch.tensor([int(flag)], device=device)
    dist.broadcast(t, src=0)
    return bool(t.item())


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _fingerprint(bundle: Bundle) -> dict[str, Any]:
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
    settings = {k: v for k, v in _config_dict(config).items() if k not in RESUMABLE_CHANGES}
    return {"base": digest(",".join(weights)), "data": digest(data), "settings": digest(json.dumps(settings, sort_keys=True))}


def _prepare_output_dir(out: Path, overwrite: bool) -> None:
    """Finish or undo what a killed run left half-done; with ``overwrite``, start clean."""
    if overwrite:
        for name in ("last.pt", "best", "history.json", "train-config.json"):
            target = out / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    if out.is_dir():
        recover_dir(out / "best")  # killed between the two renames that replace best/
        clean_stale_temps(out)


def _save_checkpoint(path: Path, model, optimizer, scheduler, scaler, state: _State, bundle: Bundle,
                     run: dict[str, str]) -> None:
    payload = {"run": run,
        "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(), "state": asdict(state), "fingerprint": _fingerprint(bundle),
        "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()},
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def _load_checkpoint(path: Path, model, optimizer, scheduler, scaler, bundle: Bundle, run: dict[str, str]) -> _State:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
        payload["state"], payload["fingerprint"]
    except Exception as exc:
        raise SpeechtlError(f"{path}: unreadable checkpoint ({type(exc).__name__}); delete it to start over, "
                            f"or pass --set overwrite=true") from None
    if payload["fingerprint"] != _fingerprint(bundle):
        raise SpeechtlError(
            f"{path} belongs to a run with another model or alphabet; "
            f"choose a new output folder or delete {path} to start over")
    changed = [k for k, v in run.items() if payload.get("run", run).get(k) != v]
    if changed:
        raise SpeechtlError(
            f"{path.parent} holds another run (its {' and '.join(changed)} differ from this one's): "
            f"choose another --output-dir, or pass --set overwrite=true to start over there")
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    scaler.load_state_dict(payload["scaler"])
    torch.set_rng_state(payload["rng"]["torch"])
    np.random.set_state(payload["rng"]["numpy"])
    random.setstate(payload["rng"]["python"])
    return _State(**payload["state"])


def _config_dict(config: TrainConfig) -> dict[str, Any]:
    d = asdict(config)
    return json.loads(json.dumps(d, default=str))
