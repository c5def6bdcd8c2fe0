"""Options shared by several commands: the catalogue selection."""

from __future__ import annotations

import click

from vae_passive import catalogue


def selection_options(func):
    """The catalogue selection shared by ``list`` and later selection commands."""
    options = [
        click.option("--ids", "ids_spec", metavar="SPEC", help="Id ranges, e.g. 0-99,300,1800-1805."),
        click.option("--dataset", type=click.Choice(catalogue.DATASETS), help="Only this data set."),
        click.option("--method", type=click.Choice(catalogue.METHOD_NAMES), help="Only this method."),
        click.option(
            "--hyperparameter-index", type=click.IntRange(0, catalogue.LEVELS - 1), help="Only this level (0-5)."
        ),
        click.option("--value", type=float, help="Only this hyperparameter value, e.g. 16 for beta = 16."),
        click.option("--seed", "model_seed", type=click.IntRange(0, catalogue.SEEDS - 1), help="Only this seed."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def select_records(ids_spec, dataset, method, hyperparameter_index, value, model_seed) -> list[catalogue.ModelRecord]:
    """The catalogue records chosen by ``selection_options``."""
    ids = catalogue.parse_ids(ids_spec) if ids_spec else None
    return list(
        catalogue.select(
            ids,
            dataset=dataset,
            method=method,
            hyperparameter_index=hyperparameter_index,
            value=value,
            seed=model_seed,
        )
    )
