"""The package's shape: one job per module, dependencies pointing one way."""

import ast
from pathlib import Path

import skdeep

ROOT = Path(skdeep.__file__).parent
# DESIGN.md's order: a module may import from its own layer or the ones before
LAYERS = ["_compat", "exceptions", "_legacy", "architectures", "engine", "estimators",
          "wrappers", "preprocessing", "deploy", "search", "cli"]


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _imports(name, path):
    """skdeep modules imported by a module, at any depth of its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            if base.startswith("skdeep"):
                yield base
                yield from (f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("skdeep"))


def test_no_module_is_over_800_lines():
    long = {name: n for name, path in _modules()
            if (n := len(path.read_text().splitlines())) > 800}
    assert not long


def test_no_import_cycle_inside_skdeep():
    modules = dict(_modules())
    edges = {name: {m for m in _imports(name, path) if m in modules and m != name}
             for name, path in modules.items()}
    # a package's __init__ imports its modules, so a module that imports its
    # own package (``from skdeep.estimators import _dask``) imports every
    # sibling: those edges stay in the graph
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in edges[node]:
            if state.get(nxt) == "open":
                raise AssertionError(" -> ".join([*stack, node, nxt]))
            if nxt not in state:
                visit(nxt, [*stack, node])
        state[node] = "done"

    for name in edges:
        if name not in state:
            visit(name, [])


def test_imports_point_down_the_layers():
    def layer(module):
        top = module.split(".")[1] if "." in module else ""
        return LAYERS.index(top) if top in LAYERS else None

    wrong = []
    for name, path in _modules():
        own = layer(name)
        if own is None or name == "skdeep._legacy":
            continue
        for target in _imports(name, path):
            other = layer(target)
            if other is not None and other > own:
                wrong.append(f"{name} imports {target}")
    assert not wrong
