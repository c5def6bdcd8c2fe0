"""One vocabulary across commands: the same catalogue filters everywhere, renamed options, the root help."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import numpy as np
import pytest
from support.helpers import one_line_error

from vae_passive.cli import main
from vae_passive.cli.options import FILTER_HELP
from vae_passive.zoo import catalogue

FILTERS = ("ids_spec", "dataset", "method", "hyperparameter_index", "value", "seed", "study")
SELECTING = {"list", "fetch", "cache ls", "cache verify", "cache rm", "analyze", "report", "train"}
#: Commands that print results (--json) and commands that draw progress (-q/--quiet).
PRINTING = {
    "list", "info", "encode", "analyze", "fetch", "import", "cache ls", "cache verify", "cache rm", "train",
    "report", "data ls", "data fetch", "data sample", "score",
}  # fmt: skip
DRAWING = {"analyze", "fetch", "import", "train", "report", "data fetch"}
#: Renamed spellings: (command, old, new, arguments that let the command start).
RENAMED = [
    ("analyze", "--model-dataset", "--dataset", ("cars3d",), ()),
    ("analyze", "--model-seed", "--seed", ("3",), ()),
    ("encode", "--seed", "--noise-seed", ("3",), ("--model-dir", "m", "--images", "x.npy", "--out", "c.npz")),
    ("data sample", "--seed", "--data-seed", ("3",), ("procedural_dsprites", "--out", "s.npz")),
]


def commands(group: click.Group = main, prefix: str = "") -> dict[str, click.Command]:
    """Every leaf command by its full name (``cache ls``)."""
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found.update(commands(command, f"{full} "))
        else:
            found[full] = command
    return found


def option(command: click.Command, name: str) -> click.Option | None:
    return next((p for p in command.params if isinstance(p, click.Option) and p.name == name), None)


def describe(param: click.Option) -> tuple:
    """What a user sees of an option: its spellings, help, metavar, choices or range, visibility."""
    kind = param.type
    detail = getattr(kind, "choices", None) or (getattr(kind, "min", None), getattr(kind, "max", None))
    return (tuple(param.opts), param.help, param.metavar, type(kind).__name__, tuple(detail), param.hidden)


def test_every_selecting_command_has_the_same_filters():
    everything = commands()
    selecting = {name for name, command in everything.items() if option(command, "ids_spec") is not None}
    assert selecting >= SELECTING, SELECTING - selecting
    reference = {name: describe(option(everything["list"], name)) for name in FILTERS}
    assert reference["study"][1] == FILTER_HELP["study"] and "be-more-active" in reference["study"][1]
    for name in selecting:
        for flag in FILTERS:
            param = option(everything[name], flag)
            assert param is not None, f"{name} lacks {flag}"
            assert describe(param) == reference[flag], f"{name} {flag}"


def test_json_and_quiet_are_the_same_options_everywhere():
    everything = commands()
    assert set(everything) >= PRINTING and set(everything) >= DRAWING
    json_help = {option(everything[name], "as_json").help for name in PRINTING}
    assert json_help == {"Print one JSON value on stdout (messages go to stderr)."}
    for name in DRAWING:
        assert option(everything[name], "quiet").opts == ["--quiet", "-q"], name


@pytest.mark.parametrize(("name", "old", "new", "value", "rest"), RENAMED)
def test_old_spellings_are_hidden_and_not_both(cli, name, old, new, value, rest):
    command = commands()[name]
    old_option = next(p for p in command.params if old in p.opts)
    assert old_option.hidden and old not in command.get_help(click.Context(command))
    message = one_line_error(cli(*name.split(), *rest, old, *value, new, *value))
    assert f"{old} is the old spelling of {new}" in message


def test_an_old_spelling_still_works_with_a_note(cli, tmp_path):
    new = cli("data", "sample", "procedural_dsprites", "--num", 8, "--data-seed", 3, "--out", tmp_path / "new.npz")
    old = cli("data", "sample", "procedural_dsprites", "--num", 8, "--seed", 3, "--out", tmp_path / "old.npz")
    assert new.exit_code == old.exit_code == 0 and new.stderr == ""
    assert old.stderr.strip() == "note: --seed is deprecated and will be removed; use --data-seed"
    first, second = np.load(tmp_path / "new.npz"), np.load(tmp_path / "old.npz")
    assert np.array_equal(first["factors"], second["factors"])
    result = cli("analyze", "--ids", 0, "--model-seed", 1)  # model 0 has seed 0: the old filter still filters
    assert result.stderr.splitlines()[0] == "note: --model-seed is deprecated and will be removed; use --seed"
    assert result.stderr.splitlines()[1] == "Error: no model matches this selection"


def test_the_new_meanings_point_to_the_new_names(cli):
    result = cli("analyze", "--model-dir", ".", "--dataset", "procedural_dsprites")
    assert result.exit_code == 2 and "the images a model encodes are chosen with --data" in result.stderr
    message = one_line_error(cli("analyze", "--model-id", 0, "--seed", 3))
    assert "either --model-id/--model-dir or a selection" in message and "--data-seed" in message


@pytest.mark.parametrize("name", sorted(SELECTING))
def test_an_unknown_study_lists_the_known_ones(cli, name, tmp_path):
    extra = ("--out", tmp_path / "r") if name == "report" else ()
    message = one_line_error(cli(*name.split(), "--study", "be_more_active", *extra))
    assert message == "Error: unknown study 'be_more_active'; choose one of " + ", ".join(catalogue.STUDIES)


def test_study_selects_and_says_when_ids_are_outside(cli):
    import json

    rows = json.loads(cli("list", "--study", "be-more-active", "--json").stdout)
    assert len(rows) == 9000
    assert {r["method"] for r in rows}.isdisjoint({"dip_vae_i"}) and {r["dataset"] for r in rows} != {"shapes3d"}
    assert all(r["released"] for r in rows)
    narrowed = json.loads(cli("list", "--study", "be-more-active", "--dataset", "cars3d", "--seed", 0, "--json").stdout)
    assert len(narrowed) == 5 * 6 and all(r["seed"] == 0 for r in narrowed)
    message = one_line_error(cli("fetch", "--study", "be-more-active", "--ids", "0,600-602"))
    assert "--ids 600,601,602 are outside the study be-more-active" in message and "drop --study" in message
    message = one_line_error(cli("list", "--study", "unsupervised_study_v1", "--ids", "10800"))
    assert "--ids 10800 is outside the study unsupervised_study_v1" in message


def test_root_help_shows_the_workflow_before_the_reference(cli):
    text = cli("--help").stdout
    workflow = ("vae-passive demo", "vae-passive fetch", "vae-passive import", "vae-passive analyze", "report --out")
    positions = [text.index(step) for step in workflow]
    assert positions == sorted(positions) and positions[-1] < text.index("Workflow:") < text.index("Reference:")
    section = text[text.index("Workflow:") : text.index("Reference:")].splitlines()[1:]
    listed = [line.split()[0] for line in section if line.strip()]
    assert listed == ["demo", "fetch", "import", "train", "analyze", "report"]
    assert "--study" in text and "--json" in text and "-q/--quiet" in text


def _examples(command: click.Command) -> list[list[str]]:
    """The ``vae-passive ...`` lines of a command's help, split into words."""
    lines = [line.strip() for line in (command.help or "").splitlines()]
    found = []
    for line in lines:
        if "vae-passive " in line:
            words = shlex.split(line[line.index("vae-passive ") :])
            found.append(words[1:])
    return found


def test_every_help_example_uses_options_the_command_has():
    seen = 0
    for command in [main, *commands().values(), *(c for c in main.commands.values() if isinstance(c, click.Group))]:
        for words in _examples(command):
            target: click.Command = main
            while isinstance(target, click.Group) and words and words[0] in target.commands:
                target, words = target.commands[words[0]], words[1:]
            visible = {opt for p in target.params if not getattr(p, "hidden", False) for opt in p.opts}
            used = {w.split("=")[0] for w in words if w.startswith("-")}
            assert used <= visible | {"--help"}, (target.name, used - visible)
            seen += 1
    assert seen > 40


def _documented_commands() -> list[tuple[str, list[str]]]:
    """Every ``vae-passive ...`` line in the README's and docs' shell blocks, split into words (comments dropped)."""
    root = Path(__file__).resolve().parents[2]
    found = []
    for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        inside = False
        for line in path.read_text().splitlines():
            if line.startswith("```"):
                inside = line.strip() in ("```sh", "```bash", "```console")
                continue
            if inside and "vae-passive " in line and not line.lstrip().startswith("#"):
                text = line[line.index("vae-passive ") :]
                words = shlex.split(text, comments=True)
                if words[0] == "vae-passive" and len(words) > 1:  # not `pip install vae-passive`
                    found.append((path.name, words[1:]))
    return found


def test_documented_command_lines_use_options_the_commands_have():
    documented = _documented_commands()
    assert len(documented) > 40
    for name, words in documented:
        target: click.Command = main
        while isinstance(target, click.Group) and words and words[0] in target.commands:
            target, words = target.commands[words[0]], words[1:]
        assert target is not main, (name, words)
        visible = {opt for p in target.params if not getattr(p, "hidden", False) for opt in p.opts}
        used = {w.split("=")[0] for w in words if w.startswith("--")}
        assert used <= visible | {"--help"}, (name, target.name, used - visible)
