"""The layout's rules, read from the source: the arrow goes backends <- batchnet, no import cycles.

Imports inside functions count too: a late import hides a cycle, it does not remove it.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("batchnet", "backends")


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules():
    return {module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")}


def imported_modules(path, modules):
    """The project modules that the file at ``path`` imports, anywhere in it."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            # "from package import module" imports the module; "from module import name" the module
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def compiled_modules():
    """The Cython modules: imported like the others, their own imports not read here."""
    return {module_name(path) for package in PACKAGES for path in (ROOT / package).rglob("*.pyx")}


def import_graph():
    modules = project_modules()
    known = set(modules) | compiled_modules()
    graph = {name: imported_modules(path, known) for name, path in modules.items()}
    return graph | {name: set() for name in compiled_modules()}


def test_backends_never_import_batchnet():
    offenders = {name: sorted(t for t in targets if t.split(".")[0] == "batchnet")
                 for name, targets in import_graph().items() if name.split(".")[0] == "backends"}
    assert {name: targets for name, targets in offenders.items() if targets} == {}


def find_cycle(graph):
    """One import cycle as a list of modules, or None. A package's ``__init__`` runs when any of
    its modules is imported, so a module importing its own package's ``__init__`` is a cycle too."""
    def edges(name):
        return sorted(graph[name])

    state = {}
    for start in graph:
        stack = [(start, iter(edges(start)))]
        path = [start]
        state[start] = "open"
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = "done"
                stack.pop()
                path.pop()
            elif state.get(child) == "open":
                return path[path.index(child):] + [child]
            elif child not in state:
                state[child] = "open"
                stack.append((child, iter(edges(child))))
                path.append(child)
    return None


def test_no_import_cycles():
    assert find_cycle(import_graph()) is None


def test_a_cycle_is_found_when_there_is_one():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]


@pytest.mark.parametrize("name", sorted(project_modules()))
def test_every_module_has_a_docstring_saying_what_lives_there(name):
    path = project_modules()[name]
    tree = ast.parse(path.read_text())
    assert ast.get_docstring(tree), f"{path.relative_to(ROOT)} has no module docstring"
