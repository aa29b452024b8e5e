"""The grader's layout holds its rules: no import cycle, no private name imported across
modules, nothing outside ``autograder.sandbox`` imported inside it, size limits."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"autograder": ROOT / "autograder", "nnlab": ROOT / "lib" / "nnlab"}


def _module_name(path: Path) -> str:
    for package, folder in PACKAGES.items():
        if path.is_relative_to(folder):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    raise ValueError(path)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for folder in PACKAGES.values() for p in sorted(folder.rglob("*.py"))}


MODULES = _modules()


def _imports(name: str) -> list[tuple[str, str, int]]:
    """(module imported, name imported from it or "", line) for every import of a module,
    resolved to a module of this repository where it is one."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, "", node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.append((submodule, "", node.lineno) if submodule in MODULES
                             else (base, alias.name, node.lineno))
    return [(module, what, line) for module, what, line in found if module.split(".")[0] in PACKAGES]


def _graph() -> dict[str, set[str]]:
    """Module -> the repository modules it imports (a package's ``__init__`` counts as imported)."""
    graph: dict[str, set[str]] = {}
    for name in MODULES:
        targets = set()
        for module, _, _ in _imports(name):
            while module and module not in MODULES:
                module = module.rpartition(".")[0]
            if module and module != name:
                targets.add(module)
        graph[name] = targets
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_itself_back_through_others() -> None:
    """In the grader and the library; function-level imports count: a cycle deferred into a
    function is still a cycle."""
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _offending_imports(importer: str, offends) -> list[str]:
    """``file:line: module[.name]`` of every import by modules under ``importer`` for which
    ``offends(module, name)`` holds."""
    return [f"{MODULES[name].relative_to(ROOT)}:{line}: {module}" + (f".{what}" if what else "")
            for name in MODULES if name.startswith(importer)
            for module, what, line in _imports(name) if offends(module, what)]


def test_no_private_name_is_imported_from_another_grader_module() -> None:
    found = _offending_imports("autograder", lambda module, what: what.startswith("_")
                               and not what.startswith("__"))
    assert not found, "private names imported across modules:\n" + "\n".join(found)


def test_inside_the_sandbox_nothing_but_the_sandbox_package_is_imported() -> None:
    """Only ``autograder/sandbox`` is mounted into the sandbox: it must not need the rest."""
    found = _offending_imports("autograder.sandbox", lambda module, _: module.startswith("autograder")
                               and not module.startswith("autograder.sandbox"))
    assert not found, "the sandbox imports grader code it cannot see:\n" + "\n".join(found)


def test_the_library_never_imports_the_grader() -> None:
    found = _offending_imports("nnlab", lambda module, _: module.startswith("autograder"))
    assert not found, "nnlab imports the grader:\n" + "\n".join(found)


def _length_without_docstring(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    length = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str):
        length -= first.end_lineno - first.lineno + 1
    return length


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_module_stays_readable(name: str) -> None:
    """~350 lines a module, ~60 a function besides its docstring (data tables aside: they are
    assignments), in the grader and in the library alike."""
    source = MODULES[name].read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 360, f"{name}: {len(source.splitlines())} lines; split it"
    long = [f"{node.name} ({_length_without_docstring(node)} lines)"
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and _length_without_docstring(node) > 60]
    assert not long, f"{name}: functions over 60 lines: {', '.join(long)}"


def test_the_sandbox_mounts_no_grader_code_but_its_own_package(tmp_path: Path) -> None:
    """What :func:`isolation.command` binds of ``autograder/``: its ``__init__`` and ``sandbox/``."""
    from autograder.grading import isolation

    args = isolation.command("bwrap", tmp_path)
    bound = [Path(args[i + 1]) for i, arg in enumerate(args) if arg == "--ro-bind"]
    package = ROOT / "autograder"
    assert sorted(p for p in bound if p.is_relative_to(package)) == [
        package / "__init__.py", package / "sandbox"]
    assert not any(package.is_relative_to(p) for p in bound), "a bind holds the whole package"
