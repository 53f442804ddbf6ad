"""Which Chalice command is loading the app, read from the command line: `chalice local`'s
autoreload worker imports the app in a thread where click keeps no context."""

from __future__ import annotations

import pytest

from infra.chalice_cli import command_from_argv


@pytest.mark.parametrize(("argv", "expected"), [
    (["chalice", "local"], ("local", "dev")),
    (["chalice", "local", "--port", "8010"], ("local", "dev")),
    (["chalice", "--debug", "local", "--stage", "dev"], ("local", "dev")),
    (["chalice", "--project-dir", "/srv/store", "package", "--stage", "prod", "out"], ("package", "prod")),
    (["chalice", "deploy", "--stage=prod"], ("deploy", "prod")),
    (["chalice"], ("", "dev")),
])
def test_can_read_the_command_and_stage_from_the_command_line(argv: list[str], expected: tuple[str, str]) -> None:
    assert command_from_argv(argv) == expected
