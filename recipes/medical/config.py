"""Medical recipe settings: speechtl's presets, adjusted for dictation and clinic dialogue.

Every field is typed (speechtl.recipe.RecipeConfig, speechtl.training.TrainConfig)
and can be overridden from the command line: --set train.max_steps=1200.
"""

from speechtl.recipe import presets

# drug names are long and rare: a 4-gram LM over 20k generated sentences
PRESETS = presets("medical", lm_order=4, general_share=0.2)
