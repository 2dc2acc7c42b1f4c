"""The ``votes`` command line.

Each sub-command lives in its own module and is imported only when used, so
``votes tally`` on a committee laptop does not load the web stack.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

__all__ = ["main"]

# command name -> "module:attribute" of a click.Command
_COMMANDS: dict[str, str] = {
    "db": "votes.cli.db_cmd:db",
    "tally": "votes.cli.tally_cmd:tally",
    "roster": "votes.cli.roster_cmd:roster",
    "verify": "votes.cli.verify_cmd:verify",
    "simulate": "votes.cli.simulate_cmd:simulate",
    "serve": "web.serve_cmd:serve",  # the web layer plugs itself in; votes never imports web
    "admin": "votes.cli.admin_cmd:admin",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, attr = target.split(":")
        command: Any = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="owner-vote")
def main() -> None:
    """Owner Vote (业主决策电子投票): count, verify and run owners' votes."""
