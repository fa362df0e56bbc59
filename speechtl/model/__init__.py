"""Pretrained CTC models: loading with a resized head, freezing, saving."""
