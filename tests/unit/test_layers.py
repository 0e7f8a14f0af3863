"""The layout is the data flow: each layer imports only the layers before it (docs/architecture.md).

model <- sources <- policies <- engine <- analyses <- render <- cli. `errors` and `progress` serve every
layer; the reference evaluators sit beside the engine and read only the model, so that a wrong compilation
cannot hide in them; the package's own __init__ is the library's public face and may import anything.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import netpol

PACKAGE = Path(netpol.__file__).parent
ORDER = ("errors", "progress", "bulk", "model", "sources", "policies", "engine", "reference", "analyses", "render",
         "cli", "pytest_plugin")
REFERENCE_READS = {"errors", "model", "sources"}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ORDER else "__init__"


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        out.append((name, path))
    return out


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "netpol":
            if node.module == "netpol":
                found += [(node.lineno, f"netpol.{a.name}") for a in node.names if a.name != "__version__"]
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "netpol"]
    return found


@pytest.mark.parametrize(("name", "path"), modules(), ids=[name for name, _ in modules()])
def test_imports_run_one_way(name: str, path: Path) -> None:
    mine = layer(name)
    if mine == "__init__":
        return
    wrong = []
    for line, target in imports(path):
        theirs = layer(target)
        if mine == "reference" and theirs != "reference":
            if theirs not in REFERENCE_READS:
                wrong.append(f"line {line}: {target}")
        elif theirs == "__init__" or ORDER.index(theirs) > ORDER.index(mine):
            wrong.append(f"line {line}: {target}")
    assert not wrong, f"{name} ({mine}) imports a later layer: {wrong}"


def test_every_module_is_in_a_layer() -> None:
    loose = [name for name, _ in modules() if name.count(".") == 1 and layer(name) == "__init__"]
    assert loose == []


FAMILY_WORDS = re.compile(r"calico|cilium|tier|\bv1|admin|baseline|networkpolicy", re.IGNORECASE)


@pytest.mark.parametrize("path", sorted((PACKAGE / "engine").glob("*.py")), ids=lambda p: p.name)
def test_the_engine_names_no_family(path: Path) -> None:
    """The engine reads only the intermediate form (netpol/policies/stages.py): no family's name, kind or
    module appears in it, not even in a comment, so that no family-specific branch can hide there."""
    found = [f"line {i}: {line.strip()}" for i, line in enumerate(path.read_text().splitlines(), 1)
             if FAMILY_WORDS.search(line)]
    assert found == []
