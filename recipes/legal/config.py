"""Legal recipe settings: speechtl's presets, adjusted for hearings and contracts.

Every field is typed (speechtl.recipe.RecipeConfig, speechtl.trainer.TrainConfig)
and can be overridden from the command line: --set train.max_steps=1200.
"""

import dataclasses

from speechtl.recipe import RecipeConfig, preset


def cpu() -> RecipeConfig:
    # Latin phrases and multi-word motions: a 4-gram LM, a quarter of everyday English
    return dataclasses.replace(preset("legal", "cpu"), lm_order=4, general_share=0.25)


def gpu() -> RecipeConfig:
    return dataclasses.replace(preset("legal", "gpu"), lm_order=4, general_share=0.25)


PRESETS = {"cpu": cpu, "gpu": gpu}
