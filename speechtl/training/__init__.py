"""Fine-tuning: the loop (loop.py), its config, checkpoints, the per-batch step
(whole model or cached prefix) and the DDP plumbing.

    from speechtl.training import TrainConfig, train
    result = train(bundle, train_entries, dev_entries, TrainConfig(output_dir="runs/legal"))
"""

from .config import TrainConfig, TrainResult
from .loop import train

__all__ = ["TrainConfig", "TrainResult", "train"]
