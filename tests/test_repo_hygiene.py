"""The repository's own rules: ruff clean, notebooks stripped through git, local pre-commit hooks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_code_is_ruff_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_notebooks_go_through_nbstripout() -> None:
    attributes = (ROOT / ".gitattributes").read_text(encoding="utf-8").split("\n")
    assert "*.ipynb filter=nbstripout" in attributes


def test_cell_ids_survive_the_git_filter() -> None:
    """Translations are keyed by cell id: nbstripout must keep ids (its default renumbers them 0, 1, …)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "-m nbstripout --keep-id" in makefile
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = {hook["id"]: hook for hook in config["repos"][0]["hooks"]}
    assert "--keep-id" in hooks["nbstripout"]["entry"]
    for notebook in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        ids = [cell.get("id", "") for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]]
        renumbered = [str(n) for n in range(len(ids))]
        assert ids != renumbered, f"{notebook.name}: cell ids were renumbered by nbstripout without --keep-id"
        assert len(set(ids)) == len(ids), f"{notebook.name}: duplicate cell ids"


def test_pre_commit_uses_local_hooks_for_nbstripout_and_ruff() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = {hook["id"]: hook for hook in config["repos"][0]["hooks"]}
    assert set(hooks) == {"nbstripout", "ruff"}
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-config",
                             ".pre-commit-config.yaml"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_course_data_is_never_committed() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split("\n")
    for folder in ("/submitted/", "/autograded/", "/feedback/", "/gradebook.db", "/exchange/"):
        assert folder in ignored
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "gradebook.db" not in tracked


def test_every_make_selection_collects_without_errors() -> None:
    """`make test-e2e` runs without xdist: every marker the suite uses must be registered for it too."""
    for extra in (["-m", "e2e", "-p", "no:xdist"], ["-m", "not slow"]):
        result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", *extra],
                                cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
