"""Options shared by several commands: the catalogue selection, ``--json``, ``--quiet``, renamed spellings.

Every command that selects zoo models (``list``, ``fetch``, ``cache``, ``analyze``, ``report``) takes the
same filters with the same help, from ``selection_options``; what a command does with other things has
its own name (``--data`` for the images a model encodes, ``--data-seed``, ``--noise-seed``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from vae_passive.errors import VaePassiveError
from vae_passive.zoo import catalogue

F = TypeVar("F", bound=Callable[..., Any])

#: The help of each catalogue filter, identical on every command that selects models.
FILTER_HELP = {
    "ids": "Zoo model ids, e.g. 0-99,300,1800-1805.",
    "dataset": "Only models trained on this data set.",
    "method": "Only models of this method.",
    "hyperparameter_index": f"Only this hyperparameter level (0-{catalogue.LEVELS - 1}).",
    "value": "Only this hyperparameter value, e.g. 16 for beta = 16.",
    "seed": f"Only models of this training seed (0-{catalogue.SEEDS - 1}).",
    "study": "Only the models of a study: " + ", ".join(catalogue.STUDIES) + ".",
}


class _ZooDataset(click.Choice):
    """A zoo data set; a data set the zoo has no models of (the stand-in) points to ``--data``."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value not in self.choices and value == "procedural_dsprites":
            self.fail(
                f"{value} is not a data set of the zoo's models; the images a model encodes are chosen with --data",
                param,
                ctx,
            )
        return super().convert(value, param, ctx)


@dataclass(frozen=True)
class Selection:
    """The catalogue filters as given (``None``: not given); ``ids()`` resolves them."""

    ids_spec: str | None = None
    dataset: str | None = None
    method: str | None = None
    hyperparameter_index: int | None = None
    value: float | None = None
    seed: int | None = None
    study: str | None = None

    @property
    def given(self) -> bool:
        """Whether any filter was given."""
        return any(getattr(self, f.name) is not None for f in fields(self))

    def records(self) -> list[catalogue.ModelRecord]:
        """The catalogue records chosen (all 12,600 when no filter is given); bad input is a one-line error."""
        ids = None if self.ids_spec is None else catalogue.parse_ids(self.ids_spec, option="--ids")
        return list(
            catalogue.select(
                ids,
                dataset=self.dataset,
                method=self.method,
                hyperparameter_index=self.hyperparameter_index,
                value=self.value,
                seed=self.seed,
                study=self.study,
            )
        )

    def ids(self) -> list[int] | None:
        """The ids chosen, or ``None`` when no filter was given (an empty result is ``[]``, never "everything")."""
        return [r.id for r in self.records()] if self.given else None


_SELECTION_OPTIONS = [
    click.option("--ids", "ids_spec", metavar="SPEC", help=FILTER_HELP["ids"]),
    click.option("--dataset", type=_ZooDataset(catalogue.DATASETS), help=FILTER_HELP["dataset"]),
    click.option("--method", type=click.Choice(catalogue.METHOD_NAMES), help=FILTER_HELP["method"]),
    click.option(
        "--hyperparameter-index",
        type=click.IntRange(0, catalogue.LEVELS - 1),
        metavar="INDEX",
        help=FILTER_HELP["hyperparameter_index"],
    ),
    click.option("--value", type=float, help=FILTER_HELP["value"]),
    click.option("--seed", type=click.IntRange(0, catalogue.SEEDS - 1), metavar="SEED", help=FILTER_HELP["seed"]),
    click.option("--study", metavar="NAME", help=FILTER_HELP["study"]),
]


def selection_options(func: F) -> F:
    """Add the catalogue filters; the command receives them as one ``selection: Selection`` argument."""
    names = [f.name for f in fields(Selection)]

    @functools.wraps(func)
    def wrapper(*args: Any, **params: Any) -> Any:
        chosen = Selection(**{name: params.pop(name) for name in names})
        if chosen.study is not None:
            catalogue.study_name(chosen.study)
        return func(*args, selection=chosen, **params)

    for option in reversed(_SELECTION_OPTIONS):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def json_option(func: F) -> F:
    """``--json``: one JSON value on stdout for scripts; messages stay on stderr."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON value on stdout (messages go to stderr)."
    )(func)


def quiet_option(help: str = "No progress bar.") -> Callable[[F], F]:
    """``-q/--quiet``: no progress bar (bars are drawn only on a terminal anyway); ``help`` says what else it hushes."""
    return click.option("--quiet", "-q", is_flag=True, help=help)


def renamed(old: str, new: str, param: str, **option: Any) -> Callable[[F], F]:
    """A hidden ``old`` spelling of the option ``new`` (whose parameter is ``param``), kept for one release.

    Using it prints one deprecation line on stderr and sets ``param``; giving both spellings is an error.
    ``option`` is the new option's ``type`` and the like, so that the old spelling is checked the same way.
    """
    alias = "renamed_" + old.lstrip("-").replace("-", "_")

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **params: Any) -> Any:
            value = params.pop(alias)
            if value is not None:
                ctx = click.get_current_context()
                if ctx.get_parameter_source(param) not in (None, ParameterSource.DEFAULT):
                    raise VaePassiveError(f"{old} is the old spelling of {new}; give only {new}")
                click.echo(f"note: {old} is deprecated and will be removed; use {new}", err=True)
                params[param] = value
            return func(*args, **params)

        return click.option(old, alias, hidden=True, default=None, **option)(wrapper)  # type: ignore[return-value]

    return decorate


def old_model_filters(func: F) -> F:
    """``analyze``'s old ``--model-dataset`` and ``--model-seed`` (before its ``--dataset``/``--seed`` became the
    filters), for one release; put it above ``selection_options``."""
    func = renamed("--model-seed", "--seed", "seed", type=click.IntRange(0, catalogue.SEEDS - 1))(func)
    return renamed("--model-dataset", "--dataset", "dataset", type=_ZooDataset(catalogue.DATASETS))(func)
