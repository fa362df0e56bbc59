"""Medical recipe settings: speechtl's presets, adjusted for dictation and clinic dialogue.

Every field is typed (speechtl.recipe.RecipeConfig, speechtl.training.TrainConfig)
and can be overridden from the command line: --set train.max_steps=1200.
"""

from speechtl.recipe import presets

# drug names are long and rare: a 4-gram LM over 20k generated sentences
# held-out dev and test sentences: real doctor-patient interviews (../shared), when there
PRESETS = presets(lm__order=4, data__general_share=0.2,
                  data__heldout_transcripts="shared:corpora/medical-dialogue")
