"""Medical recipe settings: speechtl's presets, adjusted for dictation and clinic dialogue.

Every field is typed (speechtl.recipe.RecipeConfig, speechtl.trainer.TrainConfig)
and can be overridden from the command line: --set train.max_steps=1200.
"""

import dataclasses

from speechtl.recipe import RecipeConfig, preset


def cpu() -> RecipeConfig:
    # drug names are long and rare: a 4-gram LM over 20k generated sentences
    return dataclasses.replace(preset("medical", "cpu"), lm_order=4, general_share=0.2)


def gpu() -> RecipeConfig:
    return dataclasses.replace(preset("medical", "gpu"), lm_order=4, general_share=0.2)


PRESETS = {"cpu": cpu, "gpu": gpu}
