"""The parser every command group plugs into, and what the groups share.

A command group is a module of :mod:`infra.cli` with one function, ``register(commands)``, that adds
its sub-commands to ``commands`` and sets each one's ``func`` (a :data:`Command`); :mod:`infra.cli`
lists the groups. Groups only parse and print: what a command does lives in :mod:`infra.ops`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from typing import NoReturn, TypeAlias

from infra.ops.target import Target, resolve

__all__ = ["Command", "Commands", "Parser", "Register", "build_parser", "target", "where"]


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors as one line that says where to look."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"switchboard: {message} (see `{self.prog} --help`)\n")


#: What a sub-command runs: the parsed arguments in, the exit status out.
Command: TypeAlias = Callable[[argparse.Namespace], int]
#: Where a group adds its sub-commands (``add_subparsers`` of a :class:`Parser`).
Commands: TypeAlias = "argparse._SubParsersAction[Parser]"
#: A group's ``register``.
Register: TypeAlias = Callable[[Commands], None]


def build_parser(groups: Iterable[Register]) -> Parser:
    parser = Parser(prog="switchboard", description="Serverless connectors for a small business's tools.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for register in groups:
        register(commands)
    return parser


def where() -> Parser:
    """The ``--stage``/``--region`` options of a command that acts on the local runtime or a stage."""
    options = Parser(add_help=False)
    options.add_argument(
        "--stage", help="act on this deployed stage (AWS credentials needed); default: the local runtime"
    )
    options.add_argument("--region", help="AWS region of the stage (default: AWS_REGION / your profile's)")
    return options


def target(args: argparse.Namespace) -> Target:
    """The local runtime or the stage a :func:`where` command names."""
    return resolve(args.stage, args.region)
