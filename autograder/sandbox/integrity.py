"""Detect a submission that changed the grading machinery.

Before the first cell runs, the child records the identity of every object
grading relies on: numpy's and torch's comparison functions, the builtins,
every function of ``nnlab.checks`` and its modules, IPython's display and
traceback hooks, ``sys`` hooks, the child's own reply path, and the module
objects themselves. It looks again whenever the grader judges: after the
last cell, after every probe (a thread that patches numpy while the checks
run is seen) and at the end, and reports what was replaced. Verdicts never
depend on these objects (the grader judges in its own process); this report
is what lets an instructor see that someone tried.
"""

from __future__ import annotations

import sys
from typing import Any

#: module -> attribute paths watched in it (dotted for nested attributes).
WATCHED_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "numpy": (
        "allclose", "isclose", "array_equal", "array_equiv", "equal", "abs", "max", "all", "any",
        "isfinite", "ndarray", "asarray", "testing.assert_allclose", "testing.assert_array_equal",
        "testing.assert_equal", "testing.assert_almost_equal", "testing.assert_array_almost_equal",
    ),
    "torch": (
        "allclose", "isclose", "equal", "tensor", "Tensor", "testing.assert_close",
        "autograd.grad", "autograd.backward", "nn.functional", "Tensor.backward", "Tensor.__eq__",
    ),
    "sys": ("excepthook", "displayhook", "modules", "setprofile", "getprofile"),
    "threading": ("setprofile",),
    "json": ("dumps", "loads", "JSONEncoder"),
    # the child's own reply path and the policy watch (bound before student code, watched too)
    "autograder.sandbox.protocol": ("write", "encode", "_dumps", "_os_write"),
    "autograder.sandbox.child": ("Child.reply", "Child.run_cell", "Child.run_probe", "Child.check_integrity",
                         "Child.run"),
}

#: modules whose every function/class attribute is watched.
WATCHED_MODULES = (
    "nnlab", "nnlab.checks", "nnlab.checks.spec", "nnlab.checks.compare", "nnlab.checks.codec",
    "nnlab.i18n", "builtins",
)

#: attributes that change by design while cells run.
IGNORED = {"builtins._", "builtins.__", "builtins.___", "builtins.input"}

#: the IPython shell's methods and hooks that display outputs and errors.
SHELL_ATTRIBUTES = (
    "showtraceback", "_showtraceback", "showsyntaxerror", "run_cell", "run_code",
    "run_ast_nodes", "display_pub", "displayhook", "display_formatter", "excepthook",
    "InteractiveTB", "SyntaxTB",
)


def _resolve(root: Any, path: str) -> Any:
    value = root
    for part in path.split("."):
        value = getattr(value, part)
    return value


def _watched(shell: Any) -> dict[str, Any]:
    objects: dict[str, Any] = {}
    objects.update(_watched_attributes())
    objects.update(_watched_modules())
    objects.update(_watched_checks())
    if shell is not None:
        objects.update(_watched_shell(shell))
    return {k: v for k, v in objects.items() if k not in IGNORED}


def _watched_attributes() -> dict[str, Any]:
    """The listed attributes of numpy, torch, sys, … (and the module objects themselves)."""
    objects: dict[str, Any] = {}
    for module_name, paths in WATCHED_ATTRIBUTES.items():
        module = sys.modules.get(module_name)
        if module is None:
            continue
        objects[f"sys.modules[{module_name}]"] = module
        for path in paths:
            try:
                objects[f"{module_name}.{path}"] = _resolve(module, path)
            except AttributeError:
                continue
    return objects


def _watched_modules() -> dict[str, Any]:
    """Every function and class of nnlab's checking modules and of builtins."""
    objects: dict[str, Any] = {}
    check_modules = [name for name in sys.modules if name.startswith("nnlab.checks.")]
    for module_name in (*WATCHED_MODULES, *check_modules):
        module = sys.modules.get(module_name)
        if module is None:
            continue
        objects[f"sys.modules[{module_name}]"] = module
        for name, value in list(vars(module).items()):
            if callable(value) or isinstance(value, type):
                objects[f"{module_name}.{name}"] = value
    return objects


def _watched_checks() -> dict[str, Any]:
    """The checks themselves: a replaced judge or run is a patch."""
    spec_module = sys.modules.get("nnlab.checks.spec")
    if spec_module is None:
        return {}
    registry = getattr(spec_module, "_REGISTRY", {})
    objects: dict[str, Any] = {"nnlab.checks.spec._REGISTRY": registry}
    for name, spec in list(registry.items()):
        objects[f"check {name}"] = spec
        objects[f"check {name}.run"] = getattr(spec, "run", None)
        objects[f"check {name}.judge"] = getattr(spec, "judge", None)
    return objects


def _watched_shell(shell: Any) -> dict[str, Any]:
    """The IPython shell's display and traceback hooks."""
    objects: dict[str, Any] = {}
    # hooks patched on the instance (display_pub.publish = ...) leave the object in place
    for hook in ("display_pub", "displayhook", "display_formatter", "InteractiveTB"):
        obj = getattr(shell, hook, None)
        if obj is not None:
            objects[f"shell.{hook} (type)"] = type(obj)
            for name, value in list(vars(obj).items()):
                if callable(value) and not isinstance(value, type):
                    objects[f"shell.{hook}.{name}"] = value
    own = vars(shell)
    for name in SHELL_ATTRIBUTES:
        # instance attributes (hooks) by identity; methods through the class, since a
        # bound method is a new object at every access
        objects[f"shell.{name}"] = own.get(name)
        for cls in type(shell).__mro__:
            if name in vars(cls):
                objects[f"{cls.__name__}.{name}"] = vars(cls)[name]
    return objects


def snapshot(shell: Any) -> dict[str, Any]:
    """The watched objects now (kept alive, compared by identity later)."""
    return _watched(shell)


def changes(baseline: dict[str, Any], shell: Any) -> list[str]:
    """Names of watched objects replaced or deleted since ``baseline``, and hooks added to
    the shell's display and traceback objects."""
    now = _watched(shell)
    changed = {name for name, value in baseline.items() if now.get(name, _MISSING) is not value}
    changed |= {name for name in now if name.startswith("shell.") and name not in baseline}
    return sorted(changed)


_MISSING = object()
