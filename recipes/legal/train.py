"""Adapt a speech recognizer to legal speech, end to end.

    python recipes/legal/train.py                  # CPU preset unless a GPU is present
    python recipes/legal/train.py --preset gpu --set train.max_steps=8000
    python recipes/legal/train.py --train-manifest mine/train.jsonl --dev-manifest mine/dev.jsonl \\
        --test-manifest mine/test.jsonl --base /models/my-checkpoint

Writes runs/legal/ (model, LM, evaluation, report) and data/legal/ (synthetic audio),
relative to the current folder. A rerun skips finished stages; see speechtl/recipe/runner.py.
"""

import sys

from speechtl.recipe import run_recipe_file

if __name__ == "__main__":
    sys.exit(run_recipe_file(__file__))
