"""Six short English utterances shipped with the package (see README.md here), for
the demo, examples and benchmarks that need real audio without a download."""

from pathlib import Path

SAMPLE_DIR = Path(__file__).parent
SAMPLE_MANIFEST = SAMPLE_DIR / "manifest.jsonl"
