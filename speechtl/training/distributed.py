"""DistributedDataParallel plumbing for ``torchrun``: one process per GPU, rank 0 writes."""

from __future__ import annotations

import os
import random
from contextlib import nullcontext

import numpy as np
import torch
import torch.distributed as dist


def setup_distributed() -> tuple[int, int, torch.device]:
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


def maybe_no_sync(model: torch.nn.Module, sync: bool):
    """Skip DDP's gradient all-reduce on micro-batches that only accumulate."""
    if not sync and hasattr(model, "no_sync"):
        return model.no_sync()
    return nullcontext()


def broadcast_flag(flag: bool, world: int, device: torch.device) -> bool:
    if world == 1:
        return flag
    t = torch.tensor([int(flag)], device=device)
    dist.broadcast(t, src=0)
    return bool(t.item())


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
