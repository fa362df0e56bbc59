"""The package's layers: imports only point down, and no module imports itself back.

Every ``import`` in speechtl/ is read (those inside functions too: a lazy import is
still a dependency), so a new module that reaches up a floor, or two modules that need
each other, fail here with the offending line.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "speechtl"
MAX_MODULE_LINES = 320

# each top-level module or subpackage of speechtl and its floor; a unit may import only
# from lower floors (and within itself)
LAYERS = {
    "errors": 0, "constants": 0, "samples": 0,
    "text": 1, "fileio": 1, "config": 1,
    "cache": 2, "alphabet": 2, "vocabulary": 2, "metrics": 2,
    "domains": 3, "data": 3, "lm": 3,
    "model": 4, "decode": 4, "synth": 4,
    "decoders": 5, "transcribe": 5,
    "evaluate": 6, "segment": 6, "pseudo": 6, "report": 6,
    "training": 7,
    "recipe": 8, "demo": 8,
    "cli": 9,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _exists(module: str) -> bool:
    path = PACKAGE.parent / Path(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports() -> dict[str, set[tuple[str, int]]]:
    """speechtl module -> the speechtl modules it imports, with the line."""
    out: dict[str, set[tuple[str, int]]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = out.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {(a.name, node.lineno) for a in node.names if a.name.startswith("speechtl")}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if not target.startswith("speechtl"):
                    continue
                # "from . import offline" depends on the module offline, not on the package
                subs = [f"{target}.{a.name}" for a in node.names if _exists(f"{target}.{a.name}")]
                found |= {(t, node.lineno) for t in subs or [target]}
    return out


def _unit(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None  # None: the package's own facade (speechtl/__init__)


def test_every_unit_has_a_floor():
    units = {p.stem if p.suffix == ".py" else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" and p.stem not in ("__init__", "__main__")) or (p / "__init__.py").is_file()}
    assert units - set(LAYERS) == set(), "give each new module a floor in LAYERS"


def test_imports_point_down():
    wrong = []
    for module, targets in imports().items():
        unit = _unit(module)
        if unit is None:
            continue
        for target, line in sorted(targets):
            other = _unit(target)
            if other is not None and other != unit and LAYERS[other] >= LAYERS[unit]:
                wrong.append(f"{module}:{line} imports {target} ({unit} is on floor {LAYERS[unit]}, "
                             f"{other} on {LAYERS[other]})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    graph = {m: {t for t, _ in ts if t != m} for m, ts in imports().items()}
    # a package's __init__ importing its own modules is how a package is made: not a cycle
    graph = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}
    cycles, seen, stack = [], set(), []

    def visit(node: str) -> None:
        if node in stack:
            cycles.append(" -> ".join(stack[stack.index(node):] + [node]))
            return
        if node in seen:
            return
        seen.add(node)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt)
        stack.pop()

    for module in sorted(graph):
        visit(module)
    assert not cycles, "\n".join(cycles)


def test_no_module_is_over_the_size_limit():
    long = {str(p.relative_to(PACKAGE.parent)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"split these (at most {MAX_MODULE_LINES} lines): {long}"
