"""The grader's settings: documented defaults, ``autograder.toml`` overrides, and loud errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from autograder.course.settings import Settings, load_settings


def write_toml(course_dir: Path, text: str) -> Path:
    path = course_dir / "autograder.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_setting_has_a_default_and_a_description() -> None:
    described = Settings.describe()
    assert [name for name, _, _ in described] == [f.name for f in dataclasses.fields(Settings)]
    defaults = Settings()
    for name, default, description in described:
        assert getattr(defaults, name) == default
        assert len(description.split()) >= 3, name  # a sentence, not a placeholder


def test_without_autograder_toml_the_defaults_apply(tmp_path: Path) -> None:
    assert load_settings(tmp_path) == Settings()


def test_autograder_toml_overrides_only_what_it_names(tmp_path: Path) -> None:
    write_toml(tmp_path, '[grader]\ncell_timeout = 12.5\nworkers = 3\nsandbox = "none"\nlanguage = "zh"\n')
    loaded = load_settings(tmp_path)
    assert (loaded.cell_timeout, loaded.workers, loaded.sandbox, loaded.language) == (12.5, 3, "none", "zh")
    untouched = {"cell_timeout", "workers", "sandbox", "language"}
    for field in dataclasses.fields(Settings):
        if field.name not in untouched:
            assert getattr(loaded, field.name) == field.default


def test_an_integer_is_accepted_for_a_float_setting(tmp_path: Path) -> None:
    write_toml(tmp_path, "[grader]\nnotebook_timeout = 60\n")
    assert load_settings(tmp_path).notebook_timeout == 60


def test_an_unknown_key_is_named_with_the_known_ones(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[grader]\ncell_timeout = 5.0\ncel_timeout = 5.0\n")
    with pytest.raises(ValueError) as caught:
        load_settings(tmp_path)
    message = str(caught.value)
    assert "cel_timeout" in message and str(path) in message
    known = message.split("known settings:")[1]
    for name, _, _ in Settings.describe():
        assert name in known


def test_an_unknown_table_is_refused(tmp_path: Path) -> None:
    write_toml(tmp_path, "[grader]\n[gradr]\nworkers = 2\n")
    with pytest.raises(ValueError, match="unknown table.*gradr"):
        load_settings(tmp_path)


@pytest.mark.parametrize("line", [
    pytest.param('memory_mb = "lots"', id="string-for-int"),
    pytest.param("memory_mb = 1.5", id="float-for-int"),
    pytest.param("workers = true", id="bool-for-int"),
    pytest.param("cell_timeout = true", id="bool-for-float"),
    pytest.param('cell_timeout = "30"', id="string-for-float"),
    pytest.param("sandbox = 1", id="int-for-string"),
    pytest.param('sandbox = "docker"', id="unknown-sandbox"),
    pytest.param('language = "fr"', id="unknown-language"),
])
def test_a_value_of_the_wrong_type_or_choice_is_refused(tmp_path: Path, line: str) -> None:
    write_toml(tmp_path, f"[grader]\n{line}\n")
    key = line.split(" =")[0]
    with pytest.raises(ValueError, match=key):
        load_settings(tmp_path)


def test_invalid_toml_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[grader\ncell_timeout = \n")
    with pytest.raises(ValueError) as caught:
        load_settings(tmp_path)
    assert str(path) in str(caught.value) and "not valid TOML" in str(caught.value)


def test_replace_ignores_none_and_changes_the_rest() -> None:
    base = Settings(memory_mb=1024)
    changed = base.replace(memory_mb=None, cell_timeout=7.0, workers=None)
    assert changed.memory_mb == 1024 and changed.cell_timeout == 7.0 and changed.workers == base.workers
    assert base.cell_timeout == Settings().cell_timeout  # the original is unchanged


def test_replace_refuses_unknown_keys_and_wrong_types() -> None:
    with pytest.raises(ValueError, match="unknown grader setting.*timeout_cell"):
        Settings().replace(timeout_cell=3.0)
    with pytest.raises(ValueError, match="max_processes"):
        Settings().replace(max_processes="many")
