"""Adapt a speech recognizer to general speech, end to end.

    python recipes/general/train.py                  # CPU preset unless a GPU is present
    python recipes/general/train.py --preset gpu --set train.max_steps=8000
    python recipes/general/train.py --train-manifest mine/train.jsonl --dev-manifest mine/dev.jsonl \\
        --test-manifest mine/test.jsonl --base /models/my-checkpoint

Writes runs/general/ (model, LM, evaluation, report) and data/general/ (synthetic audio),
relative to the current folder. A rerun skips finished stages; see speechtl/recipe/runner.py.
"""

import sys

from speechtl.recipe import run_recipe_file

if __name__ == "__main__":
    sys.exit(run_recipe_file(__file__))
