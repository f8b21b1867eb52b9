"""The README's command table and the program agree: every command the program has is in
the table, every command and option the table names is one the program's help shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _help(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "ingest.cli", *args, "--help"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, (args, proc.stderr)
    return proc.stdout


def _table_rows() -> list[str]:
    text = README.read_text(encoding="utf-8")
    table = text.split("| command | what it does | exit code |", 1)[1].split("\n\n", 1)[0]
    return [line for line in table.splitlines() if line.startswith("| `mgr-ingest")]


def _commands_of(row: str) -> list[list[str]]:
    """The ``mgr-ingest …`` invocations of a table row's first cell: subcommand words and
    the long options written after them."""
    cell = row.split(" | ", 1)[0]
    out = []
    for code in re.findall(r"`(mgr-ingest [^`]*)`", cell):
        words = code.replace("\\|", "|").split()[1:]
        sub = []
        for w in words:
            if w.startswith("-") or w.isupper() or "." in w or w.startswith("[") or "|" in w:
                break
            sub.append(w)
        options = re.findall(r"(--[a-z][a-z-]*)", code)
        out.append([*sub, *options])
    return out


def test_every_command_of_the_program_is_in_the_readme_table():
    listed = {cmd[0] for row in _table_rows() for cmd in _commands_of(row) if cmd}
    usage = _help()
    program = set(re.search(r"\{([a-z,-]+)\}", usage).group(1).split(","))
    assert program <= listed, f"commands missing from the README's table: {sorted(program - listed)}"


@pytest.mark.parametrize("row", _table_rows(), ids=lambda r: r.split(" | ")[0][2:40])
def test_the_options_the_readme_names_are_in_the_help(row):
    for command in _commands_of(row):
        sub = [w for w in command if not w.startswith("--")]
        options = [w for w in command if w.startswith("--")]
        if not sub:
            continue
        shown = _help(*sub[:2]) if sub[0] in ("ocr", "names", "places", "user") and len(sub) > 1 else _help(sub[0])
        missing = [o for o in options if o not in shown]
        assert missing == [], f"'mgr-ingest {' '.join(sub)}' --help does not show {missing}"


HELP_COMMANDS = [["validate"], ["clean"], ["crosscheck"], ["demo"], ["import"], ["run"], ["schedule"], ["tables"],
                 ["withdraw"], ["status"], ["stats"], ["backup"], ["restore"], ["serve"], ["user"], ["names"],
                 ["places"], ["ocr"], ["ocr", "cells"], ["ocr", "train"], ["ocr", "export-training"],
                 ["ocr", "--book", "x"]]


def test_every_argument_of_every_command_says_what_it_is_for(monkeypatch, capsys):
    """``--help`` of a command builds its whole parser (subcommands included); no argument of
    any of them may be shown without a description."""
    import argparse

    from ingest import cli

    program = set(re.search(r"\{([a-z,-]+)\}", _help()).group(1).split(","))
    assert program == {words[0] for words in HELP_COMMANDS}  # a new command joins the list
    undescribed, seen = set(), set()
    add_argument = argparse.ArgumentParser.add_argument

    def recording(parser, *args, **kwargs):
        action = add_argument(parser, *args, **kwargs)
        name = (parser.prog, tuple(action.option_strings) or (action.dest,))
        seen.add(name)
        if action.help is None and not isinstance(action, argparse._SubParsersAction):
            undescribed.add(name)
        return action

    monkeypatch.setattr(argparse.ArgumentParser, "add_argument", recording)
    for words in HELP_COMMANDS:
        try:
            code = cli.main([*words, "--help"])  # some commands turn argparse's exit into their exit code
        except SystemExit as stop:
            code = stop.code
        assert code in (0, None), words
    capsys.readouterr()
    assert ("mgr-ingest user add", ("--role",)) in seen and ("mgr-ingest ocr train", ("--batch",)) in seen
    assert sorted(undescribed) == []


def test_the_command_reference_is_what_the_program_prints():
    """``docs/commands.md`` shows every command's help as the program prints it now: a changed
    option, default or description that the page does not show fails here."""
    from ingest.command_reference import as_markdown, commands

    listed = commands()
    assert ["names", "suggest"] in listed and ["places", "import"] in listed and ["user", "add"] in listed
    assert ["ocr", "train"] in listed and {words[0] for words in listed} == {w[0] for w in HELP_COMMANDS}
    page = (Path(__file__).resolve().parents[2] / "docs" / "commands.md").read_text(encoding="utf-8")
    # word for word; where lines break may differ between Python versions' argparse
    assert page.split() == as_markdown().split(), "regenerate with: python -m ingest.command_reference > docs/commands.md"
