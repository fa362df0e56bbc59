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

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..data.dataset import collate
from ..data.manifest import ManifestEntry
from ..errors import SpeechtlError
from ..fileio import write_json
from ..model.loader import Bundle, save_bundle
from .checkpoint import (RunState, config_dict, load_checkpoint, prepare_output_dir, run_fingerprint, run_lock,
                         save_checkpoint)
from .config import TrainConfig, TrainResult
from .dev import dev_score
from .distributed import broadcast_flag, maybe_no_sync, seed_everything, setup_distributed
from .steps import configure_model, data_and_step

log = logging.getLogger(__name__)


def train(bundle: Bundle, train_entries: Sequence[ManifestEntry], dev_entries: Sequence[ManifestEntry],
          config: TrainConfig) -> TrainResult:
    """Fine-tune ``bundle.model`` in place; resume from ``output_dir/last.pt`` if present.
    One run per output folder at a time (a second is refused while the first runs)."""
    config.check()
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun rank 0 holds the folder's lock
        return _train(bundle, train_entries, dev_entries, config)
    with run_lock(Path(config.output_dir)):
        return _train(bundle, train_entries, dev_entries, config)


def _train(bundle: Bundle, train_entries: Sequence[ManifestEntry], dev_entries: Sequence[ManifestEntry],
           config: TrainConfig) -> TrainResult:
    out = Path(config.output_dir)
    rank, world, device = setup_distributed()
    seed_everything(config.seed + rank)
    too_long = [e.id for e in train_entries if e.duration > config.max_duration]
    train_entries = [e for e in train_entries if e.duration <= config.max_duration]
    if not train_entries:
        raise SpeechtlError(f"no training utterances of at most {config.max_duration}s")
    if too_long and rank == 0:
        print(f"speechtl: {len(too_long)} training utterances longer than max_duration={config.max_duration}s "
              f"left out (--set max_duration=SECONDS keeps them)", file=sys.stderr, flush=True)

    # The model: SpecAugment and a mean-reduced CTC loss live in its config.
    model = bundle.model
    configure_model(model, config)
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
    state = RunState()
    last = out / "last.pt"
    if rank == 0:
        prepare_output_dir(out, config.overwrite)
    if last.exists():
        state = load_checkpoint(last, model, optimizer, scheduler, scaler, bundle, run)
        if rank == 0:
            log.info("resuming from %s at step %d", last, state.step)
    if state.step >= config.max_steps and (out / "best").exists():
        # a finished run: say so instead of training past max_steps
        if rank == 0:
            print(f"{out}: finished before ({state.step} of {config.max_steps} steps); nothing to do", flush=True)
        return TrainResult(out / "best", state.best_wer, state.step, tuple(state.history), False)
    if rank == 0:
        write_json(out / "train-config.json", config_dict(config))

    # The frozen prefix: computed once per utterance when it can be, then only the top trains.
    dataset, step_model = data_and_step(bundle, train_entries, config, rank, world, device)
    if len(dataset) == 0:
        raise SpeechtlError(f"none of the {len(train_entries)} training utterances' audio could be read")
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
        for batch in _batches(dataset, config, state, rank, world):
            # Ctrl-C is taken here, between micro-batches: raised anywhere else it can land
            # in a finalizer that swallows it, and the run would go on.
            ctrl_c.check()
            # One micro-batch: forward under autocast, backward, maybe an optimizer step.
            micro += 1
            sync = micro % config.grad_accum_steps == 0
            with maybe_no_sync(train_model, sync):
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
                    save_checkpoint(last, model, optimizer, scheduler, scaler, state, bundle, run)
                    # Written after the checkpoint, so it never claims steps a resume would lose.
                    write_json(out / "history.json", state.history)
                    bar.set_postfix(loss=f"{running_loss / max(running_n, 1):.3f}", dev_wer=f"{state.history[-1]['dev_wer']:.3f}")
                running_loss, running_n = 0.0, 0
                model.train()
                stop = broadcast_flag(stop, world, device)
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
    # audio that failed to load: noted by the dataset as it went, or left out of the prefix cache
    kept = {e.id for e in getattr(dataset, "entries", train_entries)}
    unread = sorted(set(getattr(dataset, "failed", ())) | {e.id for e in train_entries if e.id not in kept})
    return TrainResult(out / "best", state.best_wer, state.step, tuple(state.history), stopped_early,
                       tuple(too_long + unread))


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


def _evaluate_and_save(bundle: Bundle, dev_entries: Sequence[ManifestEntry], config: TrainConfig, state: RunState,
                       train_loss: float, lr: float, device: torch.device) -> bool:
    """Score dev, save the best model, update patience; True means stop."""
    out = Path(config.output_dir)
    row: dict[str, Any] = {"step": state.step, "train_loss": train_loss, "lr": lr, "time": time.time()}
    if dev_entries:
        result = dev_score(bundle, dev_entries, config.eval_batch_size, device)
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


def _batches(dataset, config: TrainConfig, state: RunState, rank: int, world: int) -> Iterator[dict]:
    """Endless shuffled micro-batches, resumable: the order depends on (seed, epoch)
    only, so a resumed run skips the batches it already saw without loading them."""
    while True:
        yielded, whole_epoch = False, state.batch_in_epoch == 0
        order = np.random.default_rng(config.seed + state.epoch).permutation(len(dataset))
        order = order[rank::world]  # each process takes its own share
        if not len(order):
            raise SpeechtlError(f"{len(dataset)} training utterances cannot feed {world} processes")
        batches = [order[i:i + config.batch_size].tolist() for i in range(0, len(order), config.batch_size)]
        batches = batches[state.batch_in_epoch:]
        # Its own generator: creating a loader must not draw from the global RNG,
        # or a resumed run's dropout and masks would differ from an unbroken run's.
        loader = DataLoader(dataset, batch_sampler=batches, num_workers=config.num_workers, collate_fn=collate,
                            generator=torch.Generator().manual_seed(config.seed + state.epoch))
        for batch in loader:
            state.batch_in_epoch += 1
            if batch is not None:
                yielded = True
                yield batch
        if not yielded and whole_epoch:
            # a whole epoch without one batch: every utterance failed to load; going on would spin
            raise SpeechtlError(f"no training batch could be formed: the audio of all {len(order)} utterances "
                                f"failed to load")
        state.epoch += 1
        state.batch_in_epoch = 0


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
