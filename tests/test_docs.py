"""Every command is documented: it has help, and the README names it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(c.name or c.callback.__name__ for c in app.registered_commands)  # type: ignore[union-attr]


def test_readme_starts_with_the_two_commands() -> None:
    head = README.split("##", 1)[0]
    assert "make demo" in head and "make test" in head


@pytest.mark.parametrize("command", COMMANDS)
def test_command_has_help_and_is_in_readme(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "--archive" in result.output or command == "extract"
    assert f"warcflow {command}" in README


def test_missing_archive_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["show", "1", "--archive", str(tmp_path / "nothing")])
    assert result.exit_code == 1
    assert "no archive at" in result.output
    assert "Traceback" not in result.output
