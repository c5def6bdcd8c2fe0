"""The metrics table shows each value's preset and classifier defaults; old documents read gracefully."""

from support.report_docs import make_document

from vae_passive.report import tables


def test_metric_rows_carry_their_settings_and_old_documents_read_as_before():
    new = make_document(0, downstream=True)
    for row in new["metrics"]:
        row.update(preset="study", classifier_defaults="2019")
    old = make_document(1, downstream=True)  # written before the settings were recorded
    builder = tables.TableBuilder()
    builder.add(new)
    builder.add(old)
    metrics = builder.build().metrics
    settings = metrics.groupby("key", observed=True)[["preset", "classifier_defaults"]].agg(set)
    assert settings.loc["0"].tolist() == [{"study"}, {"2019"}]
    assert settings.loc["1"].tolist() == [{"unrecorded"}, {"current"}]  # they ran today's scikit-learn defaults


def test_our_per_subset_effective_rank_has_its_own_name_in_old_and_new_documents():
    old = make_document(0)  # scores hold "effective_rank", as documents did before the rename
    assert any("effective_rank" in entry for entry in old["scores"])
    new = make_document(1)
    for entry in new["scores"]:
        entry["subset_effective_rank"] = entry.pop("effective_rank")
    builder = tables.TableBuilder()
    builder.add(old)
    builder.add(new)
    scores = builder.build().scores
    names = scores.groupby("key", observed=True)["score"].agg(set)
    assert "subset_effective_rank" in names.loc["0"] and "subset_effective_rank" in names.loc["1"]
    assert "effective_rank" not in set(scores["score"])


def test_two_versions_of_a_preset_are_never_pooled():
    """Rows of the fast preset before its predictors shrank (no version recorded) and after (``preset_version``
    2) differ in what made their numbers: the metrics table and the models' comparability group keep them apart;
    a version that is not a number leaves the document out."""
    import pytest

    from vae_passive.metrics.suite import row_settings

    earlier, now = make_document(0, downstream=True), make_document(1, downstream=True)
    for row in earlier["metrics"]:
        row.update(preset="fast", classifier_defaults="2019")
    for row in now["metrics"]:
        row.update(row_settings("fast", "2019"))
    assert row_settings("fast", "2019")["preset_version"] == 2 and "preset_version" not in row_settings("full", "2019")
    builder = tables.TableBuilder()
    builder.add(earlier)
    builder.add(now)
    built = builder.build()
    presets = built.metrics.groupby("key", observed=True)["preset"].agg(set)
    assert presets.loc["0"] == {"fast"} and presets.loc["1"] == {"fast v2"}
    assert built.models.set_index("key")["preset"].to_dict() == {"0": "fast", "1": "fast v2"}
    broken = make_document(2, downstream=True)
    broken["metrics"][0].update(preset="fast", preset_version="2")
    with pytest.raises(tables.DocumentError, match=r"preset_version is '2' \(expected a version number\)"):
        tables.TableBuilder().add(broken)
