"""``python -m autograder``, called in-process: exit codes, and messages on the right stream.

Exit status: 0 success, 1 a problem with the course or input, 2 a usage error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.__main__ import main
from autograder.course.layout import Course
from autograder.course.settings import Settings


@pytest.mark.parametrize("argv", [["--help"], ["grade", "--help"], ["settings", "-h"]],
                         ids=lambda a: " ".join(a))
def test_help_exits_0_and_prints_usage(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 0
    assert "usage:" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    pytest.param(["regrade", "01_activations"], id="unknown-verb"),
    pytest.param([], id="no-verb"),
    pytest.param(["grade"], id="missing-assignment"),
    pytest.param(["grade", "mini", "--cell-timeout", "soon"], id="bad-option-type"),
])
def test_usage_errors_exit_2(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_grading_an_unknown_assignment_returns_1_naming_the_known_ones(tmp_path: Path, capsys) -> None:
    assert main(["grade", "99_nonexistent", "--course-dir", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "unknown assignment '99_nonexistent'" in err
    known = Course.at(tmp_path).assignments()
    assert known and all(name in err for name in known)
    assert list(tmp_path.iterdir()) == []  # nothing was created


def test_settings_prints_every_setting_with_its_description(tmp_path: Path, capsys) -> None:
    assert main(["settings", "--course-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name, default, description in Settings.describe():
        assert f"{name} = {default!r}" in out
        assert description in out


def test_settings_shows_the_values_of_autograder_toml(tmp_path: Path, capsys) -> None:
    (tmp_path / "autograder.toml").write_text("[grader]\nmemory_mb = 512\n")
    assert main(["settings", "--course-dir", str(tmp_path)]) == 0
    assert f"memory_mb = 512   (default {Settings().memory_mb!r})" in capsys.readouterr().out


@pytest.mark.parametrize("verb", ["settings", "grade"])
def test_a_malformed_autograder_toml_returns_1_naming_the_file(tmp_path: Path, capsys, verb: str) -> None:
    path = tmp_path / "autograder.toml"
    path.write_text("[grader]\ncell_timeout = = 3\n")
    argv = [verb, "--course-dir", str(tmp_path)] + (["01_activations"] if verb == "grade" else [])
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(path) in err and "not valid TOML" in err


def test_the_commands_read_notebooks_without_compiling_iri_grammars() -> None:
    """The commands keep the optional rfc3987_syntax out of their process (its grammars cost
    every grading run 1.2–1.5 s before any worker got a job) and nbformat still validates."""
    import subprocess
    import sys

    script = ("import sys\n"
              "from autograder.__main__ import _without_iri_grammars\n"
              "_without_iri_grammars()\n"
              "import nbformat\n"
              "nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')]))\n"
              "print(sys.modules['rfc3987_syntax'])\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None"
