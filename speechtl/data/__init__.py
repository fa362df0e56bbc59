"""Audio reading, NeMo-style manifests and the training dataset."""
