import importlib
import subprocess
import sys

import speechtl


def test_public_names_are_the_objects_their_modules_define():
    for name, module in speechtl._EXPORTS.items():
        value = getattr(speechtl, name)
        assert value is getattr(importlib.import_module(module), name), name
        assert getattr(value, "__name__", name) == name, f"{name} is exported under another object's name"
    assert set(speechtl.__all__) == set(speechtl._EXPORTS) | {"__version__"}


def test_unknown_name_is_an_attribute_error():
    try:
        speechtl.no_such_thing
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("speechtl.no_such_thing resolved")


def test_import_is_light():
    """`import speechtl` must not pull in torch: text tools and the CLI's --help stay fast."""
    code = "import sys, speechtl; speechtl.normalize('x'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
