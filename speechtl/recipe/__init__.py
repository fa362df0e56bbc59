"""The shared recipe: from nothing to an adapted model, an LM and a report.

    config.py    RecipeConfig and the presets
    data.py      the data stage (synthesis, held-out engines and sentences, real speech)
    lm.py        the LM stage (mixed LM, decoding tuned on dev)
    evaluate.py  the evaluate and report stages
    outputs.py   what the stages hand on (frozen dataclasses, JSON markers)
    runner.py    the skip/resume runner and the command line (see its docstring)
"""

from .config import ANCHOR_WEIGHT, RecipeConfig, preset, presets
from .data import find_shared, split_voices
from .runner import STAGES, Recipe, load_presets, main, run_recipe_file

__all__ = ["ANCHOR_WEIGHT", "STAGES", "Recipe", "RecipeConfig", "find_shared", "load_presets", "main", "preset", "presets",
           "run_recipe_file", "split_voices"]
