"""Turning CTC logits into text."""
