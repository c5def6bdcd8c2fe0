"""The package's imports follow the layer table of docs/development.md, and no two modules import
each other at module level."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vae_passive"
# `python -m vae_passive` starts the CLI; `vae_passive/__init__.py` re-exports the API lazily (PEP 562)
ENTRY_POINTS = {"vae_passive/__main__.py", "vae_passive/__init__.py"}


def layer_table() -> dict[str, set[str]]:
    """layer -> the layers it may import, from the table between the layers markers."""
    text = (ROOT / "docs" / "development.md").read_text()
    block = text.split("<!-- layers:start -->")[1].split("<!-- layers:end -->")[0]
    table = {}
    for line in block.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("layer", "") or set(cells[0]) <= {"-"}:
            continue
        table[cells[0]] = {name.strip() for name in cells[2].split(",") if re.fullmatch(r"[a-z]+", name.strip())}
    return table


def layer_of(module: str) -> str:
    """``vae_passive.zoo.cache`` -> ``zoo``; top-level modules are ``base``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else "base"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    """The vae_passive modules ``path`` imports (``from a import b`` counts as ``a.b`` when b is a module)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("vae_passive")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vae_passive"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                as_path = ROOT / Path(*candidate.split("."))
                found.add(candidate if as_path.with_suffix(".py").is_file() or as_path.is_dir() else node.module)
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_the_table_names_every_package():
    table = layer_table()
    packages = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file()}
    assert set(table) == packages | {"base"}
    for allowed in table.values():
        assert allowed <= set(table)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_layers(path):
    table = layer_table()
    source = layer_of(module_name(path))
    if str(path.relative_to(ROOT)) in ENTRY_POINTS:
        return
    wrong = sorted(
        name for name in imports(path) if (target := layer_of(name)) != source and target not in table[source]
    )
    assert not wrong, f"{source} may import {sorted(table[source])} only, not {wrong}"


def test_no_import_cycle_at_module_level():
    graph = {module_name(path): imports(path, top_level_only=True) for path in SOURCES}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if target not in graph:
                continue
            if state.get(target) == 1:
                raise AssertionError(" -> ".join([*trail[trail.index(target) :], target]))
            if target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
