import csv
import io
import json

import pytest
from support.helpers import one_line_error

from vae_passive.errors import VaePassiveError
from vae_passive.zoo import catalogue


@pytest.mark.parametrize(
    ("model_id", "dataset", "method", "hyper", "value", "seed", "channels", "released"),
    [
        (0, "dsprites_full", "beta_vae", "vae.beta", 1, 0, 1, True),
        (299, "dsprites_full", "beta_vae", "vae.beta", 16, 49, 1, True),
        (300, "dsprites_full", "factor_vae", "factor_vae.gamma", 10, 0, 1, True),
        (1800, "color_dsprites", "beta_vae", "vae.beta", 1, 0, 3, True),
        (10799, "cars3d", "annealed_vae", "annealed_vae.c_max", 100, 49, 3, True),
        (12599, "shapes3d", "annealed_vae", "annealed_vae.c_max", 100, 49, 3, False),
    ],
)
def test_spot_checks(model_id, dataset, method, hyper, value, seed, channels, released):
    rec = catalogue.record(model_id)
    assert (rec.dataset, rec.method, rec.hyperparameter, rec.value, rec.seed) == (dataset, method, hyper, value, seed)
    assert (rec.channels, rec.released) == (channels, released)
    # the brief's formula, written out independently
    d, m = catalogue.DATASETS.index(dataset), catalogue.METHOD_NAMES.index(method)
    assert model_id == 1800 * d + 300 * m + 50 * rec.hyperparameter_index + seed


def test_round_trip_all_ids():
    seen = set()
    for rec in catalogue.select():
        assert catalogue.model_id(rec.dataset, rec.method, rec.hyperparameter_index, rec.seed) == rec.id
        seen.add((rec.dataset, rec.method, rec.hyperparameter_index, rec.seed))
    assert len(seen) == 12_600
    assert sum(r.released for r in catalogue.select()) == 10_800


def test_dip_vae_variants_share_values_smallnorb_is_grey():
    assert catalogue.record(600).value == catalogue.record(900).value == 1
    assert catalogue.record(7200).dataset == "smallnorb" and catalogue.record(7200).channels == 1


def test_parse_ids():
    assert catalogue.parse_ids("0-3,300, 1800-1801,2") == [0, 1, 2, 3, 300, 1800, 1801]
    for bad in ("a", "5-2", "1-", "12600", "0-12600", ""):
        with pytest.raises(VaePassiveError):
            catalogue.parse_ids(bad)


@pytest.mark.parametrize("bad", [-1, 12_600, 1.5, True])
def test_record_rejects(bad):
    with pytest.raises(VaePassiveError):
        catalogue.record(bad)


def test_filters():
    picked = list(catalogue.select(dataset="cars3d", method="beta_vae", value=16.0))
    assert len(picked) == 50 and all(r.hyperparameter_index == 5 for r in picked)
    assert [r.id for r in catalogue.select(range(0, 600), hyperparameter_index=1, seed=3)] == [53, 353]


def test_list_json_keys(cli):
    result = cli("list", "--ids", "0-2,12599", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [r["id"] for r in rows] == [0, 1, 2, 12599]
    for row in rows:
        catalogue_keys = ["id", "dataset", "method", "hyperparameter", "value", "seed", "channels", "released"]
        assert list(row) == [*catalogue_keys, "origin", "steps", "precision"]  # the origin: null when not cached
    assert rows[-1]["released"] is False


def test_list_csv_and_table(cli):
    result = cli("list", "--dataset", "smallnorb", "--method", "dip_vae_ii", "--seed", "7", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [int(r["id"]) for r in rows] == [7200 + 900 + 50 * h + 7 for h in range(6)]
    table = cli("list", "--ids", "300").stdout
    assert "factor_vae.gamma" in table and "300" in table


def test_list_errors(cli):
    assert "outside unsupervised_study_v1" in one_line_error(cli("list", "--ids", "0-99999"))
    assert "cannot read id selection" in one_line_error(cli("list", "--ids", "x"))
    result = cli("list", "--dataset", "mnist")
    assert result.exit_code != 0 and "mnist" in result.output
