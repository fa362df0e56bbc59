import subprocess
import sys

import speechtl


def test_public_names_resolve():
    for name in speechtl.__all__:
        assert getattr(speechtl, name) is not None, name


def test_import_is_light():
    """`import speechtl` must not pull in torch: text tools and the CLI's --help stay fast."""
    code = "import sys, speechtl; speechtl.normalize('x'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
