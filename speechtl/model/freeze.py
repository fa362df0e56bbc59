"""Which parts of a pretrained CTC model train, and at what learning rate.

    policy = FreezePolicy(trainable_layers=2)        # conv frozen, top 2 layers + head train
    report = policy.apply(model)
    print(report.table())
    optimizer = torch.optim.AdamW(policy.param_groups(model))

Blocks of a Wav2Vec2-family model, bottom to top: ``feature_encoder`` (the conv
stack), ``feature_projection``, ``positional`` (the conv position embedding and
the encoder layer norm), ``layers.0`` .. ``layers.N-1``, ``final_layer_norm``
(only in pre-norm "stable layer norm" variants), ``head`` (the CTC projection).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

from torch import nn

from .adapters import family_of

DEFAULT_LR_HEAD = 1e-3
DEFAULT_LR_LAYERS = 5e-5

TrainableLayers = Union[int, Literal["all"]]


@dataclass(frozen=True)
class BlockReport:
    name: str
    trainable: int
    total: int


@dataclass(frozen=True)
class FreezeReport:
    blocks: tuple[BlockReport, ...]

    @property
    def trainable(self) -> int:
        return sum(b.trainable for b in self.blocks)

    @property
    def total(self) -> int:
        return sum(b.total for b in self.blocks)

    def trainable_blocks(self) -> list[str]:
        return [b.name for b in self.blocks if b.trainable]

    def table(self) -> str:
        rows = [f"{'block':<20} {'trainable':>12} {'total':>12}"]
        rows += [f"{b.name:<20} {b.trainable:>12,} {b.total:>12,}" for b in self.blocks]
        rows.append(f"{'all':<20} {self.trainable:>12,} {self.total:>12,}")
        return "\n".join(rows)


@dataclass(frozen=True)
class FreezePolicy:
    """Declarative freezing: what trains, and the learning rate of each group.

    ``trainable_layers``: how many of the top transformer layers train; 0 trains the
    head only, ``"all"`` trains every layer (and, with it, the positional block).
    """

    freeze_feature_encoder: bool = True
    trainable_layers: TrainableLayers = 2
    train_feature_projection: bool = False
    train_final_layer_norm: bool = True
    lr_head: float = DEFAULT_LR_HEAD
    lr_layers: float = DEFAULT_LR_LAYERS

    def __post_init__(self) -> None:
        if self.trainable_layers != "all" and (not isinstance(self.trainable_layers, int) or self.trainable_layers < 0):
            raise ValueError(f"trainable_layers must be a non-negative int or 'all', not {self.trainable_layers!r}")

    def first_trainable_layer(self, num_layers: int) -> int:
        """Index of the lowest trainable transformer layer (num_layers if none)."""
        if self.trainable_layers == "all":
            return 0
        return max(0, num_layers - int(self.trainable_layers))

    def is_trainable(self, block: str, num_layers: int) -> bool:
        if block == "feature_encoder":
            return not self.freeze_feature_encoder
        if block == "feature_projection":
            return self.train_feature_projection or self.trainable_layers == "all"
        if block == "positional":
            return self.trainable_layers == "all"
        if block == "final_layer_norm":
            return self.train_final_layer_norm
        if block == "head":
            return True
        if block.startswith("layers."):
            return int(block.split(".")[1]) >= self.first_trainable_layer(num_layers)
        raise ValueError(f"unknown block {block!r}")

    def apply(self, model: nn.Module) -> FreezeReport:
        """Set ``requires_grad`` on every parameter; return counts per block."""
        blocks = model_blocks(model)
        num_layers = sum(1 for name in blocks if name.startswith("layers."))
        reports = []
        for name, modules in blocks.items():
            trainable = self.is_trainable(name, num_layers)
            params = [p for m in modules for p in m.parameters()]
            for p in params:
                p.requires_grad_(trainable)
            total = sum(p.numel() for p in params)
            reports.append(BlockReport(name, total if trainable else 0, total))
        if self.freeze_feature_encoder:
            family_of(model).freeze_feature_encoder(model)
        return FreezeReport(tuple(reports))

    def param_groups(self, model: nn.Module) -> list[dict]:
        """Optimizer groups: the head at ``lr_head``, everything else trainable at ``lr_layers``."""
        head_ids = {id(p) for m in model_blocks(model)["head"] for p in m.parameters()}
        head = [p for p in model.parameters() if p.requires_grad and id(p) in head_ids]
        body = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
        groups = [{"params": head, "lr": self.lr_head, "name": "head"}]
        if body:
            groups.append({"params": body, "lr": self.lr_layers, "name": "layers"})
        return groups


def model_blocks(model: nn.Module) -> dict[str, list[nn.Module]]:
    """Name -> modules for each freezable block (the family's adapter names them), every
    parameter in exactly one."""
    blocks = family_of(model).blocks(model)
    _check_complete(model, blocks)
    return blocks


def _check_complete(model: nn.Module, blocks: dict[str, list[nn.Module]]) -> None:
    seen = {id(p) for mods in blocks.values() for m in mods for p in m.parameters()}
    leftover = [n for n, p in model.named_parameters() if id(p) not in seen]
    if leftover:
        raise ValueError(f"parameters outside every known block: {leftover[:5]}")
