"""Syntax facts the cell analysis needs about one statement or definition: the targets an
assignment unpacks to, the names a statement binds whenever it completes, a definition's
parameters."""

from __future__ import annotations

import ast


def flat(target: ast.expr) -> list[ast.expr]:
    """The names, attributes and items an assignment target unpacks to (``a, (b, *c)``: a, b, c)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return [t for e in target.elts for t in flat(e)]
    return [target.value] if isinstance(target, ast.Starred) else [target]


def surely_bound(node: ast.stmt) -> set[str]:
    """Names a top-level statement binds whenever it completes (not those of a loop, branch or
    ``with`` body, which may not run)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.AugAssign) or isinstance(node, ast.AnnAssign) and node.value is not None:
        targets = [node.target]
    else:
        targets = node.targets if isinstance(node, ast.Assign) else []
    return {t.id for raw in targets for t in flat(raw) if isinstance(t, ast.Name)}


def positional(node: ast.AST) -> tuple[str, ...]:
    """Positional parameters in order, as a call passes them (a class: its ``__init__``'s)."""
    if isinstance(node, ast.ClassDef):
        init = next((s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
        return positional(init)[1:] if init else ()
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return ()
    return tuple(a.arg for a in [*node.args.posonlyargs, *node.args.args])


def starred_parameters(node: ast.AST) -> set[str]:
    if isinstance(node, ast.ClassDef):
        return set().union(set(), *(starred_parameters(s) for s in node.body
                                    if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))))
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return set()
    return {a.arg for a in (node.args.vararg, node.args.kwarg) if a}


def parameters(node: ast.AST) -> set[str]:
    """Parameters of a function, or of a class's methods (``self`` and ``cls`` left out)."""
    if isinstance(node, ast.ClassDef):
        return set().union(*(parameters(s) for s in node.body
                             if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))), set())
    assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
    names = [a.arg for a in args] + [a.arg for a in (node.args.vararg, node.args.kwarg) if a]
    return set(names) - {"self", "cls"}
