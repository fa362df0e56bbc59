"""Legal recipe settings: speechtl's presets, adjusted for hearings and contracts.

Every field is typed (speechtl.recipe.RecipeConfig, speechtl.training.TrainConfig)
and can be overridden from the command line: --set train.max_steps=1200.
"""

from speechtl.recipe import presets

# Latin phrases and multi-word motions: a 4-gram LM, a quarter of everyday English
PRESETS = presets(lm__order=4, data__general_share=0.25)
