"""Every command that reads the input offers the same input options, from one definition (netpol/cli/inputs.py,
Source): the same flags, help, metavar and default in every command, under the help's "Input options" heading
after the command's own. A command leaves one out only for the reason LEFT_OUT gives, so the group cannot drift:
a new input option reaches every command, and a hand-written copy of one in a command fails here."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from netpol import cli
from netpol.cli.inputs import INPUT_OPTIONS, LIVE, RENDERING

GROUP = set(INPUT_OPTIONS)

# what each command that reads the input does not offer, and why
LEFT_OUT: dict[str, set[str]] = {
    "can-reach": set(),
    "matrix": set(),
    # --staged is for the commands that answer about Calico's staged policies
    **{name: {"staged"} for name in ("list", "exposure", "graph", "report", "lint")},
    "explain": {"staged", "ignore_unmodelled"},  # it states no reachability: unmodelled objects are a warning
    "check": {*RENDERING, "staged"},  # its -f has its own wording (OWN_WORDING)
    "replay": set(RENDERING),
    "diff": {"files", *RENDERING, *LIVE, "staged"},  # BASE and HEAD are the manifests
    "snapshot": GROUP - {*LIVE, "ignore_unmodelled", "verbose"},  # it records the live cluster as it is
}
OWN_WORDING = {("check", "files")}  # the same flags, its own help: manifests for every intent file
NO_INPUT = {"completion"}


def _commands() -> dict[str, Any]:
    group = typer.main.get_command(cli.app)
    return group.commands  # type: ignore[attr-defined,no-any-return]


def _record(param: Any) -> tuple[object, ...]:
    return (param.name, tuple(param.opts), tuple(param.secondary_opts), param.help, param.metavar, param.default,
            param.hidden, getattr(param, "rich_help_panel", None))


def test_every_command_says_which_input_options_it_leaves_out() -> None:
    assert set(_commands()) == set(LEFT_OUT) | NO_INPUT


@pytest.mark.parametrize("command", sorted(LEFT_OUT))
def test_a_command_offers_the_whole_group_but_what_it_leaves_out(command: str) -> None:
    offered = {p.name for p in _commands()[command].params if p.name in GROUP}
    assert offered == GROUP - LEFT_OUT[command]


def test_every_input_option_is_the_same_in_every_command() -> None:
    seen: dict[str, dict[tuple[object, ...], list[str]]] = {}
    for command, click_command in _commands().items():
        for param in click_command.params:
            if param.name in GROUP and (command, param.name) not in OWN_WORDING:
                seen.setdefault(param.name, {}).setdefault(_record(param), []).append(command)
    assert set(seen) == GROUP
    assert {name: len(records) for name, records in seen.items()} == dict.fromkeys(GROUP, 1)


def test_no_command_has_its_own_copy_of_an_input_flag() -> None:
    flags = {flag: p.name for command in _commands().values() for p in command.params if p.name in GROUP
             for flag in p.opts}
    for command, click_command in _commands().items():
        for param in click_command.params:
            for flag in set(param.opts) & set(flags):
                assert param.name == flags[flag], (command, flag)


@pytest.mark.parametrize("command", sorted(LEFT_OUT))
def test_the_help_lists_the_input_options_under_their_heading(command: str) -> None:
    r = CliRunner().invoke(cli.app, [command, "--help"])
    assert r.exit_code == 0
    own, _, inputs = r.stdout.partition("\nInput options:\n")
    flags = {p.name: max(p.opts, key=len) + " " for p in _commands()[command].params}  # "--filename "
    expected = [name for name in INPUT_OPTIONS if name not in LEFT_OUT[command]]
    places = [inputs.find(flags[name]) for name in expected]
    assert -1 not in places and places == sorted(places)  # after the heading, in the group's order
    assert not [name for name in expected if flags[name] in own]


# options several commands share that are about the answer, not the input (the same flag, each command's help)
ANSWER_OPTIONS = {"--namespace", "--output", "--port", "--protocol", "--icmp-type", "--icmp-code", "--input-only",
                  "--any-pod", "--force", "--format", "--fail-on", "--help"}


def test_an_option_that_three_commands_share_is_an_input_option_or_about_the_answer() -> None:
    commands: dict[str, set[str]] = {}
    for command, click_command in _commands().items():
        for param in click_command.params:
            if param.name not in GROUP and isinstance(param, typer.core.TyperOption):
                commands.setdefault(max(param.opts, key=len), set()).add(command)
    assert {flag for flag, where in commands.items() if len(where) >= 3} <= ANSWER_OPTIONS
