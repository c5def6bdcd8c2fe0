"""`cache ls` and `list --json` show where each cached model comes from: an original of the zoo, or trained here
(steps and precision as recorded by the folder's `train` markers or by the manifest's origin)."""

from __future__ import annotations

import json
import shutil

import pytest

from vae_passive import home
from vae_passive.tfhub.folder import TRAINING_DATA_BINDING
from vae_passive.zoo import origin
from vae_passive.zoo.cache import read_manifest
from vae_passive.zoo.checks import MANIFEST

BF16_RUN, FROM_MIRROR = 5, 1  # trained here in bf16 (as `train` leaves it); trained, as a mirror's index said


@pytest.fixture
def cache(cli, tmp_path, model_folder_1ch, zip_of):
    """Originals 0 and 1 imported; 1's manifest then records a mirror's "trained, 7 steps" (no precision); model 5
    trained here for 40 steps in bf16 (no manifest: train.gin binds the data, train_results.json the rest)."""
    for model_id in (0, FROM_MIRROR):
        (tmp_path / f"{model_id}.zip").write_bytes(zip_of(model_id))
        assert cli("import", tmp_path / f"{model_id}.zip").exit_code == 0
    manifest = read_manifest(home.model_dir(FROM_MIRROR))
    manifest["origin"] = {"kind": "trained", "steps": 7, "data": "dsprites_full"}
    (home.model_dir(FROM_MIRROR) / MANIFEST).write_text(json.dumps(manifest))
    trained = shutil.copytree(model_folder_1ch, home.model_dir(BF16_RUN))
    with open(trained / origin.TRAIN_GIN, "a") as gin:
        gin.write(f"{TRAINING_DATA_BINDING} = 'procedural_dsprites'\n")
    results = {"steps": 40, "spec_steps": 300_000, "training_data": "procedural_dsprites", "precision": "bf16"}
    (trained / origin.TRAIN_RESULTS).write_text(json.dumps(results))


ORIGINAL = {"origin": "original", "steps": None, "precision": "fp32"}
BF16 = {"origin": "trained", "steps": 40, "precision": "bf16"}
MIRRORED = {"origin": "trained", "steps": 7, "precision": None}


def test_cache_ls_names_each_models_origin_steps_and_precision(cli, cache):
    result = cli("cache", "ls")
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["id", "status", "size", "fetched", "at", "origin", "source"]
    by_id = {int(row.split()[0]): row for row in rows[:3]}
    assert "  zoo  " in by_id[0]
    assert "trained here, 7 steps, precision not recorded" in by_id[FROM_MIRROR]
    assert "trained here, 40 steps, bf16" in by_id[BF16_RUN] and by_id[BF16_RUN].split()[1] == "unmanaged"

    listing = json.loads(cli("cache", "ls", "--json").stdout)["models"]
    fields = [{k: m[k] for k in ("id", "origin", "steps", "precision")} for m in listing]
    assert fields == [{"id": 0, **ORIGINAL}, {"id": FROM_MIRROR, **MIRRORED}, {"id": BF16_RUN, **BF16}]


def test_list_json_gives_origins_of_cached_models_only(cli, cache):
    result = cli("list", "--ids", f"0-{BF16_RUN}", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert {k: rows[0][k] for k in ORIGINAL} == ORIGINAL
    assert {k: rows[FROM_MIRROR][k] for k in MIRRORED} == MIRRORED
    assert {k: rows[BF16_RUN][k] for k in BF16} == BF16
    assert all(rows[i]["origin"] is rows[i]["steps"] is rows[i]["precision"] is None for i in (2, 3, 4))
    assert rows[BF16_RUN]["method"] == "beta_vae"  # the catalogue's fields stay
    assert "null when it is not" in " ".join(cli("list", "--help").stdout.split())
