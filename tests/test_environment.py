"""requirements*.txt and environment.yml pin the same packages at the same versions, exactly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = [ROOT / "requirements.txt", ROOT / "requirements-dev.txt"]
ENVIRONMENT = ROOT / "environment.yml"

#: ``name==version``: no ranges, wildcards, extras or environment markers.
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[0-9][A-Za-z0-9.+!-]*)$")


def requirement_lines(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def conda_pip_lines() -> list[str]:
    environment = yaml.safe_load(ENVIRONMENT.read_text(encoding="utf-8"))
    pip_sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip: list"
    return [str(line).strip() for line in pip_sections[0]]


def normalized(name: str) -> str:
    """PEP 503: pip treats pre_commit, pre-commit and Pre.Commit as one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lines:
        match = PIN.match(line)
        assert match, f"not an exact pin (name==version): {line!r}"
        name = normalized(match["name"])
        assert name not in found, f"{name} is pinned twice"
        found[name] = match["version"]
    return found


@pytest.mark.parametrize("lines", [
    pytest.param(lambda: requirement_lines(REQUIREMENTS[0]), id="requirements.txt"),
    pytest.param(lambda: requirement_lines(REQUIREMENTS[1]), id="requirements-dev.txt"),
    pytest.param(conda_pip_lines, id="environment.yml"),
])
def test_every_line_is_an_exact_pin(lines) -> None:
    assert pins(lines())


def test_requirements_and_environment_pin_the_same_versions() -> None:
    runtime, dev = (pins(requirement_lines(path)) for path in REQUIREMENTS)
    assert not set(runtime) & set(dev), "a package is pinned in both requirements files"
    conda = pins(conda_pip_lines())
    assert conda == {**runtime, **dev}


def test_torch_is_pinned_exactly_to_the_cpu_release_everywhere() -> None:
    # a range would let pip pick a multi-GB CUDA build (see requirements.txt)
    assert pins(requirement_lines(REQUIREMENTS[0]))["torch"] == "2.13.0"
    assert pins(conda_pip_lines())["torch"] == "2.13.0"


@pytest.mark.parametrize("line", ["torch>=2.13.0", "torch~=2.13", "torch", "torch==2.*", "torch===2.13.0",
                                  "torch==2.13.0 ; python_version>'3'"])
def test_the_pin_pattern_refuses_anything_but_an_exact_version(line: str) -> None:
    assert not PIN.match(line)


def test_environment_python_matches_the_projects_minimum() -> None:
    environment = yaml.safe_load(ENVIRONMENT.read_text(encoding="utf-8"))
    python = [d for d in environment["dependencies"] if isinstance(d, str) and d.startswith("python")]
    minimum = re.search(r'requires-python = ">=(\d+\.\d+)"', (ROOT / "pyproject.toml").read_text())
    assert minimum and python == [f"python={minimum[1]}"]
