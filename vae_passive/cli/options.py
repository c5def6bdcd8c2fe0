"""Options shared by several commands: the catalogue selection."""

from __future__ import annotations

import click

from vae_passive.zoo import catalogue


def _selection(dataset_flag: str, seed_flag: str):
    """Catalogue selection options; the data-set and seed flags are names that commands may need."""

    def decorate(func):
        options = [
            click.option("--ids", "ids_spec", metavar="SPEC", help="Id ranges, e.g. 0-99,300,1800-1805."),
            click.option(
                dataset_flag, "dataset", type=click.Choice(catalogue.DATASETS), help="Only models of this data set."
            ),
            click.option("--method", type=click.Choice(catalogue.METHOD_NAMES), help="Only this method."),
            click.option(
                "--hyperparameter-index", type=click.IntRange(0, catalogue.LEVELS - 1), help="Only this level (0-5)."
            ),
            click.option("--value", type=float, help="Only this hyperparameter value, e.g. 16 for beta = 16."),
            click.option(seed_flag, "model_seed", type=click.IntRange(0, catalogue.SEEDS - 1), help="Only this seed."),
        ]
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


#: The selection of ``list``, ``fetch`` and ``cache``.
selection_options = _selection("--dataset", "--seed")
#: The same for ``analyze``, whose ``--dataset`` and ``--seed`` mean the analysed data and its seed.
model_selection_options = _selection("--model-dataset", "--model-seed")


def select_records(ids_spec, dataset, method, hyperparameter_index, value, model_seed) -> list[catalogue.ModelRecord]:
    """The catalogue records chosen by ``selection_options``."""
    ids = None if ids_spec is None else catalogue.parse_ids(ids_spec, option="--ids")
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


def selected_ids(ids_spec, dataset, method, hyperparameter_index, value, model_seed) -> list[int] | None:
    """Ids chosen by the selection options, or ``None`` when no option was given (an empty ``--ids`` is an error,
    never "everything")."""
    given = (ids_spec, dataset, method, hyperparameter_index, value, model_seed)
    if all(option is None for option in given):
        return None
    return [r.id for r in select_records(*given)]
