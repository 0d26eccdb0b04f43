"""The hand-written stubs (python/clrt/*.pyi) and the modules name the same things: every public
name and class member in a stub exists at run time, and every public one at run time is in the
stub. Their types are checked by mypy in test_type_stubs.py."""

import ast
import importlib
import inspect
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "python" / "clrt"
MODULES = {
    "clrt._clrt": "_clrt.pyi",
    "clrt._trt_api": "_trt_api.pyi",
    "clrt._refit": "_refit.pyi",
    "clrt": "__init__.pyi",
}


def public(name):
    return not name.startswith("_")


def stub_names(tree):
    """{top-level name: ClassDef or None} of the names a stub defines or re-exports."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            out[node.name] = node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out[node.name] = None
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = None
        elif isinstance(node, ast.Assign):
            out.update((t.id, None) for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            # `from ._clrt import X as X` is a re-export; a plain import is for annotations.
            out.update((a.asname, None) for a in node.names if a.asname == a.name)
    return out


def class_members(cls_node, classes):
    """Member names a stub class declares, its stub base classes' included."""
    names = set()
    for node in cls_node.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    for base in cls_node.bases:
        if isinstance(base, ast.Name) and base.id in classes:
            names |= class_members(classes[base.id], classes)
    return names


def runtime_members(cls):
    """Public members the class and its bases from the same module define (a base from another
    module, e.g. _trt_api.Runtime's clrt._clrt.Runtime, is checked against its own stub)."""
    names = set()
    for c in cls.__mro__:
        if c.__module__ == cls.__module__:
            names |= {n for n in vars(c) if public(n)}
    return names


def load(module):
    stub = ast.parse((PKG / MODULES[module]).read_text(encoding="utf-8"))
    return importlib.import_module(module), stub_names(stub)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_names_match_the_stub(module):
    mod, names = load(module)
    declared = {n for n in names if public(n) or n == "__version__"}
    missing = sorted(n for n in declared if not hasattr(mod, n))
    assert not missing, f"{module}: in the stub, not in the module: {missing}"
    exported = getattr(mod, "__all__", None) or [n for n in vars(mod) if public(n)]
    undeclared = sorted(
        n for n in exported if n not in names and not inspect.ismodule(getattr(mod, n, None))
    )
    assert not undeclared, f"{module}: in the module, not in the stub: {undeclared}"


@pytest.mark.parametrize("module", ["clrt._clrt", "clrt._trt_api"])
def test_class_members_match_the_stub(module):
    mod, names = load(module)
    classes = {n: c for n, c in names.items() if c is not None}
    problems = []
    checked = 0
    for name, node in sorted(classes.items()):
        if not public(name):
            continue
        cls = getattr(mod, name)
        stub = {n for n in class_members(node, classes) if public(n)}
        real = runtime_members(cls)
        checked += len(real)
        if stub - set(dir(cls)):
            problems.append(f"{name}: in the stub only: {sorted(stub - set(dir(cls)))}")
        if real - stub:
            problems.append(f"{name}: at run time only: {sorted(real - stub)}")
    assert not problems, f"{module}:\n" + "\n".join(problems)
    assert checked > len(classes), "hardly any run-time members seen: the check compared nothing"
