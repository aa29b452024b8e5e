"""The docs cite only what exists: every path, module, function and check named in `docs/authoring.md`.

An author follows `docs/authoring.md` to the letter, so a name it cites that was renamed or
removed sends them nowhere. Each inline code span is read as one of:

- a path (it contains ``/`` or ends in a file extension): a file or folder of the
  repository, relative to the root or to ``lib/`` (templates such as ``NN_topic`` or
  ``<topic>`` are skipped);
- Python (it parses): every ``from … import …`` must import, and every dotted name rooted
  at ``nnlab``, ``autograder`` or ``torch`` must resolve, attribute by attribute;
- a bare name (``expect_close``) in a section that cites modules by path
  (``nnlab/checks/compare.py``): it must be defined in one of them, as a module attribute
  or a member of a class there, or be a parameter of a function the section calls
  (``controls`` of ``nnlab.widgets.explorer(draw, controls, ...)``).

Check names in ``check("…")`` calls, in the docs and in the check engine's docstring, must
be registered checks.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import re
import sys
from pathlib import Path

import nnlab.checks
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("docs/authoring.md",)
#: Python roots whose dotted names are resolved.
ROOTS = ("nnlab", "autograder", "torch")
#: written by `make release`, git-ignored: cited as a place, not present in a checkout.
GENERATED = ("build/",)
#: bare words in code spans that are not Python names of the project, and why.
NOT_PYTHON = {
    "NBGRADER_EXECUTION": "nbgrader's environment variable",
    "policy": "a grader status",
    "p": "the probability a statistical check names",
    "zh": "a language code",
}

SPAN = re.compile(r"`([^`\n]+)`")
PATH_END = re.compile(r"\.(md|py|toml|tsv|ipynb|txt|yml|yaml)$")
CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([A-Za-z_]\w*)["']""")


def _sections(text: str) -> list[str]:
    """The text under each heading, without fenced code."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return [section for section in re.split(r"^#+ ", text, flags=re.M) if section.strip()]


def _spans() -> list[object]:
    """``(doc, section, span)`` for every inline code span of the docs, named by doc and span."""
    return [pytest.param(doc, section, span, id=f"{doc}:{span[:50]}") for doc in DOCS
            for section in _sections((ROOT / doc).read_text(encoding="utf-8"))
            for span in SPAN.findall(section)]


def _is_template(span: str) -> bool:
    return any(mark in span for mark in ("<", "*", "NN_", "..."))


def _longest_module(dotted: str) -> tuple[object, list[str]]:
    """The longest importable module prefix of a dotted name, and the names after it."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            return importlib.import_module(".".join(parts[:cut])), parts[cut:]
        except ModuleNotFoundError:
            continue
    raise ModuleNotFoundError(dotted)


def _resolve(dotted: str) -> object:
    """The object a dotted name denotes: the longest importable module, then attributes."""
    target, names = _longest_module(dotted)
    for name in names:
        target = getattr(target, name)  # AttributeError names what is missing
    return target


def _module_of(span: str) -> str | None:
    """The module a path span cites: ``nnlab/checks/spec.py`` is ``nnlab.checks.spec``."""
    path = re.fullmatch(r"(?:lib/)?((?:nnlab|autograder)/[\w/]+)\.py", span)
    return path.group(1).removesuffix("/__init__").replace("/", ".") if path else None


def _names_in(module_name: str) -> set[str]:
    """A module's attributes, with the attributes and dataclass fields of its classes."""
    module = importlib.import_module(module_name)
    names = set(dir(module))
    for value in vars(module).values():
        if isinstance(value, type):
            names |= set(dir(value)) | set(getattr(value, "__dataclass_fields__", {}))
    return names


def _parameters_of(span: str) -> set[str]:
    """The parameter names of the function a span calls (``nnlab.widgets.explorer(draw, ...)``)."""
    dotted = re.match(r"((?:nnlab|autograder)(?:\.\w+)+)\(", span)
    target = _resolve(dotted.group(1)) if dotted else None
    if not callable(target) or isinstance(target, type):
        return set()
    return set(inspect.signature(target).parameters)


def _dotted_names(tree: ast.AST) -> list[str]:
    """Attribute chains and names in parsed code, outermost first (``a.b.c``, not ``a.b``)."""
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Name)) and id(node) not in inner:
            found.append(ast.unparse(node))
    return found


@pytest.mark.parametrize(("doc", "section", "span"), _spans())
def test_every_cited_name_exists(doc: str, section: str, span: str) -> None:
    if _is_template(span) or " = " in span or span in NOT_PYTHON or hasattr(builtins, span):
        return
    if span in sys.stdlib_module_names:  # a standard module named in prose (`os`, `ctypes`)
        return
    if " " not in span and ("/" in span or PATH_END.search(span)) and not span.startswith(GENERATED):
        assert (ROOT / span).exists() or (ROOT / "lib" / span).exists(), f"{doc}: no file {span}"
        return
    try:
        tree = ast.parse(span)
    except SyntaxError:
        return  # a command line or metadata, not Python
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                _resolve(f"{node.module}.{alias.name}")
    for dotted in _dotted_names(tree):
        root, _, rest = dotted.partition(".")
        if root in bound:
            _resolve(bound[root] + ("." + rest if rest else ""))
        elif root in ROOTS:
            _resolve(dotted)
        elif not rest and re.fullmatch(r"[A-Za-z_]\w*", span):
            cited = SPAN.findall(section)
            modules = {m for s in cited if (m := _module_of(s))}
            known = set().union(*map(_names_in, modules), *map(_parameters_of, cited))
            assert not modules or dotted in known, (
                f"{doc}: `{span}` is not defined in {', '.join(sorted(modules))}")


def test_cited_check_names_are_registered() -> None:
    texts = [(ROOT / doc).read_text(encoding="utf-8") for doc in (*DOCS, "README.md")]
    texts.append(nnlab.checks.__doc__ or "")
    cited = {name for text in texts for name in CHECK_CALL.findall(text)}
    assert cited, "no check(...) call found: the pattern no longer matches the docs"
    assert cited <= set(nnlab.checks.registry()), sorted(cited - set(nnlab.checks.registry()))
