"""Commands that `hubcore.plugins` add through the register_commands hook (`hub NAME ...`)."""
from __future__ import annotations

import argparse
from typing import Any, Callable


def plugin_commands() -> dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[..., Any]]]:
    """name -> (help, configure(parser), run(args)) for every command a loaded plugin registers."""
    from ..plugins import manager

    found: dict[str, tuple[str, Callable, Callable]] = {}

    def register(name: str, help: str, configure: Callable, run: Callable) -> None:
        found.setdefault(name, (help, configure, run))

    manager().hook.register_commands(register=register)
    return found


def run_plugin_command(name: str, argv: list[str]) -> int | None:
    """Run `hub NAME argv` if a plugin provides NAME; None when none does."""
    commands = plugin_commands()
    if name not in commands:
        return None
    help_text, configure, run = commands[name]
    parser = argparse.ArgumentParser(prog=f"hub {name}", description=help_text)
    configure(parser)
    return int(run(parser.parse_args(argv)) or 0)
