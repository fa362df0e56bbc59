"""Adapt a speech recognizer to medical speech, end to end.

    python recipes/medical/train.py                  # CPU preset unless a GPU is present
    python recipes/medical/train.py --preset gpu --set train.max_steps=8000
    python recipes/medical/train.py --train-manifest mine/train.jsonl --dev-manifest mine/dev.jsonl \\
        --test-manifest mine/test.jsonl --base /models/my-checkpoint

Writes runs/medical/ (model, LM, evaluation, report) and data/medical/ (synthetic audio),
relative to the current folder. A rerun skips finished stages; see speechtl/recipe/runner.py.
"""

import sys

from speechtl.recipe import run_recipe_file

if __name__ == "__main__":
    sys.exit(run_recipe_file(__file__))
