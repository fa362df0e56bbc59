"""General English: the domain's sentences are the everyday English every domain mixes
in (speechtl/domains/general.py), so it takes no share of them on top."""

from speechtl.domains.general import sentence  # noqa: F401  (the domain's generator)

EVERYDAY = True
