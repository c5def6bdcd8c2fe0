"""The report's pure layer: documents -> tidy tables, summary over seeds, findings, strength scale."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from support.report_docs import make_document

from vae_passive.analysis.document import NewerSchemaError, check_schema
from vae_passive.report import claims, downstream, findings, groups, tables
from vae_passive.report.tables import DocumentError, TableBuilder
from vae_passive.untrusted import UnreadableFile

CATALOGUE = ["dataset", "method", "hyperparameter", "value", "seed"]


def edge_documents() -> list[dict]:
    """One level missing (beta 2), a 3-latent model, a model without passive latents, a pre-metrics-key
    document and a model outside the catalogue."""
    return [
        make_document(0),
        make_document(1),
        make_document(2, metric_keys=False, upstream=False),
        make_document(100),  # beta = 4; beta = 2 (ids 50-99) is absent
        make_document(150, kinds=["active", "passive", "passive"]),
        make_document(300, kinds=["active"] * 10),  # factor_vae, no passive latent
        make_document(
            None,
            key="custom",
            catalogue_fields={
                "dataset": "dsprites_full",
                "method": "beta_vae",
                "hyperparameter": "vae.beta",
                "value": 3.0,
                "seed": 7,
            },
            origin={"kind": "original"},  # what analyze --model-dir records for a folder without training markers
        ),
    ]


def build(documents: list[dict]) -> tables.Tables:
    builder = TableBuilder()
    for doc in documents:
        builder.add(doc)
    return builder.build()


def test_rows_and_columns_of_every_table():
    docs = edge_documents()
    t = build(docs)
    assert list(t.models["key"].astype(str)) == [d["model"]["key"] for d in docs]
    assert len(t.latents) == sum(len(d["latents"]) for d in docs) == 63
    assert len(t.scores) == 5 * sum(len(d["scores"]) for d in docs)
    assert len(t.metrics) == sum(len(d["metrics"]) for d in docs)
    assert len(t.upstream_metrics) == 6 * 4  # 6 documents with upstream metrics, 2 representations x 2 keys
    for frame in (t.latents, t.scores, t.metrics, t.upstream_metrics):
        assert set(tables.MODEL_KEY_COLUMNS) <= set(frame.columns)
    assert {"representation", "subset", "score", "result", "num_latents"} <= set(t.scores.columns)
    assert {"key", "representation", "subset", "metric", "metric_key", "result"} <= set(t.metrics.columns)
    three = t.latents[t.latents["key"] == "150"]
    assert list(three["kind"]) == ["active", "passive", "passive"]
    assert list(three["latent"]) == [0, 1, 2]
    # Missing level: no model at beta = 2.
    assert 2.0 not in set(t.models["value"])
    # No passive latents: its counts say so, and it has no passive subset scores.
    factor = t.models[t.models["key"] == "300"].iloc[0]
    assert (factor["active"], factor["passive"], factor["mixed"]) == (10, 0, 0)
    assert not ((t.scores["key"] == "300") & (t.scores["subset"] == "passive")).any()
    # Documents from before the metrics issue have no key: the metric name stands in.
    old = t.metrics[t.metrics["key"] == "2"]
    assert len(old) and (old["metric_key"].astype(str) == old["metric"].astype(str)).all()
    assert set(t.metrics["key"]) == {d["model"]["key"] for d in docs}  # the model key, not the metric's


def test_catalogue_fields_come_from_the_catalogue_when_the_model_has_an_id():
    doc = make_document(1805)
    doc["model"].update(dataset="cars3d", method="annealed_vae", value=99.0, seed=40)
    t = build([doc, edge_documents()[-1]])
    row = t.models.iloc[0]
    assert (row["dataset"], row["method"], row["hyperparameter"], row["value"], row["level"], row["seed"]) == (
        "color_dsprites",
        "beta_vae",
        "vae.beta",
        1.0,
        0,
        5,
    )
    custom = t.models.iloc[1]
    assert pd.isna(custom["id"]) and pd.isna(custom["level"])
    assert (custom["dataset"], custom["value"], custom["seed"]) == ("dsprites_full", 3.0, 7)


def test_summary_is_mean_std_count_over_seeds():
    docs = edge_documents()
    t = build(docs)
    summary = tables.summarize(t)
    passive = summary[
        (summary["method"] == "beta_vae")
        & (summary["value"] == 1.0)
        & (summary["table"] == "counts")
        & (summary["quantity"] == "passive")
    ]
    expected = [d["counts"]["passive"] for d in docs[:3]]
    assert len(passive) == 1
    assert passive["count"].iloc[0] == 3
    assert passive["mean"].iloc[0] == pytest.approx(np.mean(expected))
    assert passive["std"].iloc[0] == pytest.approx(np.std(expected, ddof=1))
    tc = summary[
        (summary["method"] == "beta_vae")
        & (summary["value"] == 1.0)
        & (summary["quantity"] == tables.TC)
        & (summary["representation"] == "sampled")
        & (summary["subset"] == "full")
    ]
    values = [s["gaussian_total_correlation"] for d in docs[:3] for s in d["scores"] if s["subset"] == "full"][1::2]
    assert tc["mean"].iloc[0] == pytest.approx(np.mean(values))
    # One point per present level: beta 1, 3 (custom), 4, 6; never beta 2.
    beta = summary[(summary["method"] == "beta_vae") & (summary["table"] == "counts")]
    assert sorted(beta["value"].unique()) == [1.0, 3.0, 4.0, 6.0]
    assert set(summary.columns) >= {*tables.GROUP_COLUMNS, *tables.SUMMARY_ITEM_COLUMNS, "mean", "std", "count"}
    assert set(summary["table"]) == {"counts", "scores", "metrics", "upstream_metrics"}


def test_prevalence_and_findings_state_numbers():
    t = build(edge_documents())
    prevalence = tables.prevalence(t.models)
    factor = prevalence[prevalence["method"] == "factor_vae"].iloc[0]
    assert (factor["models"], factor["with_passive"]) == (1, 0)
    found = {f.title: f.text for f in findings.findings(t)}
    with_passive = int((t.models["passive"] > 0).sum())
    assert found["Models with passive latents"].startswith(f"{with_passive:,} of 7 models")
    assert "factor_vae 0/1" in found["Models with passive latents"]
    assert "Passive latents: mean vs sampled MI" in found
    assert re.search(r"averages [0-9.e+-]+ nats on the full code", found["Removing passive latents: MI gap"])
    assert not any(re.search(r"\b1 models\b|average.*on average", text) for text in found.values())


def test_findings_without_passive_latents_say_so():
    t = build([make_document(300, kinds=["active"] * 10), make_document(301, kinds=["active"] * 4)])
    found = {f.title: f.text for f in findings.findings(t)}
    assert found["Models with passive latents"].startswith("0 of 2 models (0%)")
    assert "cannot be compared" in found["Passive latents: mean vs sampled MI"]
    assert "Removing passive latents: MI gap" not in found
    assert found["Claim (a): passive latents cause the mean/sampled discrepancy"].startswith("not measurable")
    assert "Too few models" in found["Claim (b): active latents are equally disentangled in mean and sampled codes"]


def test_the_mi_gap_counts_every_model_with_passive_latents():
    """Removing the passive latents leaves each model's non-passive ones (claim (a)'s subset): a model
    without mixed latents counts too, with its active subset; the numbers are read off the documents."""
    documents = [make_document(i, kinds=["active"] * 5 + ["passive"] * 4) for i in range(3)]
    documents += [make_document(i, kinds=["active"] * 3 + ["mixed"] * 2 + ["passive"] * 4) for i in range(3, 5)]
    documents.append(make_document(5, kinds=["active"] * 6))  # no passive latent: not in the gap

    def gap(doc: dict, subset: str) -> float:
        mean, sampled = (
            next(s[tables.MI] for s in doc["scores"] if (s["subset"], s["representation"]) == (subset, r))
            for r in ("mean", "sampled")
        )
        return mean - sampled

    full = np.mean([gap(doc, "full") for doc in documents[:5]])
    kept = np.mean([gap(doc, "active" if doc["counts"]["mixed"] == 0 else "active+mixed") for doc in documents[:5]])
    text = {f.title: f.text for f in findings.findings(build(documents))}["Removing passive latents: MI gap"]
    assert text.startswith("In the 5 models with passive latents (and at least two other latents)")
    assert f"averages {full:.3g} nats on the full code and {kept:.3g} nats on the non-passive" in text


def test_claim_c_and_the_downstream_figure_read_test_accuracy_only():
    """The truncated tasks' train accuracy (1.0 here, and before the test rows) enters neither claim (c)
    nor the authors' figure: both keep the same rows (``claims.truncated_accuracy``)."""

    def documents(train: bool) -> list[dict]:
        out = []
        for i in range(8):
            doc = make_document(i, kinds=["active"] * 5 + ["mixed"] + ["passive"] * 4, downstream=True)
            trained = [{**m, "value": 1.0} for m in doc["metrics"] if m.get("key") == "mean_train_accuracy"]
            doc["metrics"] = (trained if train else []) + [
                m for m in doc["metrics"] if m.get("key") != "mean_train_accuracy"
            ]
            out.append(doc)
        return out

    with_train, without = build(documents(True)), build(documents(False))
    assert (with_train.metrics["metric_key"] == "mean_train_accuracy").any()
    assert claims.claim_c(with_train).text == claims.claim_c(without).text
    rows = downstream.downstream_rows(with_train.metrics)
    assert len(rows) and set(rows["metric_key"].astype(str)) == {claims.ACCURACY} and (rows["result"] < 1.0).all()


def test_pair_rows_that_repeat_one_kind_are_dropped():
    """A document written before the fix holds active+passive and mixed+passive rows for a model with no
    passive latent; they must not reach the tables, the summary or the claims."""
    legacy = make_document(300, kinds=["active"] * 4 + ["mixed"] * 3, legacy=True, downstream=True)
    assert {"active+passive", "mixed+passive"} <= {e["subset"] for e in legacy["scores"]}
    t = build([legacy, make_document(0, kinds=["active"] * 3 + ["passive"] * 3, legacy=True, downstream=True)])
    no_passive = t.scores[t.scores["key"] == "300"]
    assert set(no_passive["subset"]) == {"full", "active", "mixed", "active+mixed"}
    assert set(t.metrics.loc[t.metrics["key"] == "300", "subset"]) >= {"full", "random", "active+mixed"}
    assert not t.metrics.loc[t.metrics["key"] == "300", "subset"].isin(["active+passive", "mixed+passive"]).any()
    with_passive = t.scores[t.scores["key"] == "0"]
    assert set(with_passive["subset"]) == {"full", "active", "passive", "active+passive"}
    summary = tables.summarize(t)
    pairs = summary[(summary["table"] == "scores") & (summary["subset"] == "active+passive")]
    assert set(pairs["count"]) == {1}  # only model 0: model 300's repeat of "active" is not averaged in


def test_mixed_latents_are_broken_down_by_reason():
    reasons = build([make_document(0, kinds=["active", "mixed", "mixed", "passive"])]).latents
    assert set(reasons.loc[reasons["kind"] == "active", "reason"]) == {"narrow"}
    found = {f.title: f.text for f in findings.findings(build([make_document(0, legacy=True, kinds=["mixed"] * 3)]))}
    assert found["Mixed latents by reason"].startswith("3 mixed latents in 1 model: unknown 3 (100%)")


def test_claims_are_measured_per_model():
    documents = [
        make_document(i, kinds=["active"] * 5 + ["mixed"] + ["passive"] * 4, downstream=True) for i in range(8)
    ]
    found = {f.title: f.text for f in findings.findings(build(documents))}
    a = found["Claim (a): passive latents cause the mean/sampled discrepancy"]
    # the fixture's sampled passive TC (0.016 nats at N = 10,000) is far above the independent null's
    assert a.startswith("Not supported") and "the sampled code's differs from its null in 8 of 8 models" in a
    assert "χ²" in a and "95th percentile" in a
    b = found["Claim (b): active latents are equally disentangled in mean and sampled codes"]
    assert "8 models left out: written before the sampling spread was recorded" in b  # the fixture has none
    c = found["Claim (c): mean codes remain good downstream; removing passive latents may help"]
    assert "logistic regression: supported, boosted trees: supported" in c
    assert "mean − random +0.6" in c and "without passive − full (mean code)" in c and "95 % CI" in c
    without = {f.title: f.text for f in findings.findings(build([make_document(i) for i in range(3)]))}
    assert (
        "run `vae-passive analyze --preset study`"
        in without["Claim (c): mean codes remain good downstream; removing passive latents may help"]
    )


@pytest.mark.parametrize(
    ("mutate", "error", "message"),
    [
        (lambda d: d.pop("latents"), DocumentError, "missing document.latents"),
        (lambda d: d["latents"][0].update(kind="sleepy"), DocumentError, "latents[0].kind is 'sleepy'"),
        (lambda d: d["counts"].update(passive=9), DocumentError, "disagrees with the latents"),
        (lambda d: d["scores"][0].update(gaussian_total_correlation="high"), DocumentError, "not a number"),
        (lambda d: d["model"].update(id=99999), DocumentError, "outside unsupervised_study_v1"),
        (lambda d: d.update(schema="something/else/1"), UnreadableFile, "not a vae-passive analysis document"),
        (lambda d: d.update(rule=[]), DocumentError, "rule is not an object"),
    ],
)
def test_bad_documents_add_nothing(mutate, error, message):
    builder = TableBuilder()
    builder.add(make_document(0))
    doc = make_document(1)
    mutate(doc)
    with pytest.raises(error, match=re.escape(message)):
        builder.add(doc)
    t = builder.build()
    assert len(t.models) == 1 and set(t.scores["key"]) == {"0"} and set(t.latents["key"]) == {"0"}


def test_newer_schema_is_its_own_error():
    with pytest.raises(NewerSchemaError, match="upgrade vae-passive"):
        TableBuilder().add(make_document(0, schema="vae-passive/analysis/2"))
    check_schema(make_document(0))


def test_mixed_rules_stay_apart():
    t = build([make_document(0), make_document(1, rule="mean-variance"), make_document(2)])
    ranked = groups.rules(t.models)
    assert list(ranked["label"]) == ["variance-v0.1-t0.1", "mean-variance-v0.1"]
    assert list(ranked["models"]) == [2, 1]
    found = groups.group_table(t.models)
    assert list(found["label"]) == ["zoo models, stand-in data, rule variance-v0.1-t0.1",
                                    "zoo models, stand-in data, rule mean-variance-v0.1"]  # fmt: skip
    split = tables.by_group(t, found)
    assert [len(part.models) for part in split] == [2, 1]
    assert set(split[1].scores["key"]) == {"1"}
    summary = tables.summarize(t)
    counts = summary[(summary["table"] == "counts") & (summary["quantity"] == "passive")]
    assert sorted(counts["count"]) == [1, 2]  # one group per rule, not one mixed group


def test_strength_is_normalised_per_method():
    rows = pd.DataFrame(
        {
            "method": ["beta_vae", "beta_vae", "annealed_vae", "annealed_vae", "my_vae", "my_vae", "my_vae"],
            "value": [1.0, 16.0, 5.0, 100.0, 0.5, 1.0, 2.5],
            "level": pd.array([0, 5, 0, 5, None, None, None], dtype="Int64"),
        }
    )
    strength = tables.with_strength(rows)["strength"].tolist()
    assert strength[:4] == [0.0, 1.0, 1.0, 0.0]  # annealed_vae: a larger c_max regularises less
    assert strength[4:] == pytest.approx([0.0, 0.25, 1.0])
    assert not any(math.isnan(s) for s in strength)


def _beta_one(key: str, steps: int | None) -> dict:
    """A β-VAE (β = 1, dSprites) document: the zoo's model 0 when ``steps`` is None, else one trained here."""
    if steps is None:
        return make_document(0, real=True, source="dsprites")
    origin = {"kind": "trained", "steps": steps, "data": "procedural_dsprites"}
    return make_document(None, key=key, catalogue_fields=_BETA_ONE, origin=origin)


_BETA_ONE = {"dataset": "dsprites_full", "method": "beta_vae", "hyperparameter": "beta", "value": 1.0, "seed": 0}


def test_models_of_other_origins_and_run_lengths_are_never_pooled():
    t = build([_beta_one("zoo", None), _beta_one("short", 200), _beta_one("long", 3000), _beta_one("long2", 3000)])
    assert list(t.models["origin"].astype(str)) == ["zoo", "trained", "trained", "trained"]
    assert t.models["steps"].isna().tolist() == [True, False, False, False]
    assert t.models["steps"].tolist()[1:] == [200, 3000, 3000]
    found = groups.group_table(t.models)
    assert list(found["label"]) == [
        "zoo models, real data",
        "trained here, 200 steps on procedural_dsprites, stand-in data",
        "trained here, 3,000 steps on procedural_dsprites, stand-in data",
    ]
    assert list(found["models"]) == [1, 1, 2]
    summary = tables.summarize(t)
    tc = summary[(summary["table"] == "scores") & (summary["quantity"] == tables.TC)]
    tc = tc[(tc["subset"] == "full") & (tc["representation"] == "mean")]
    # one summary row per group: only the two 3,000-step runs are averaged together
    assert sorted(tc["count"]) == [1, 1, 2]
    single = tc.loc[tc["count"] == 1, "steps"]
    assert single.isna().sum() == 1 and set(single.dropna()) == {200}
    parts = tables.by_group(t, found)
    assert [sorted(p.models["key"].astype(str)) for p in parts] == [["0"], ["short"], ["long", "long2"]]


def test_a_bf16_run_is_never_pooled_with_fp32_runs_of_the_same_length():
    def trained(key: str, precision: str | None) -> dict:
        origin = {"kind": "trained", "steps": 3000, "data": "procedural_dsprites"}
        origin.update({"precision": precision} if precision else {})
        return make_document(None, key=key, catalogue_fields=_BETA_ONE, origin=origin)

    docs = [_beta_one("zoo", None), trained("fp", "fp32"), trained("fp2", "fp32"), trained("bf", "bf16")]
    t = build([*docs, trained("old", None)])
    assert t.models["precision"].astype(str).tolist() == ["fp32", "fp32", "fp32", "bf16", ""]
    found = groups.group_table(t.models)
    assert list(found["label"]) == [
        "zoo models, real data",
        "trained here, 3,000 steps on procedural_dsprites, stand-in data",
        "trained here, 3,000 steps on procedural_dsprites, bf16, stand-in data",
        "trained here, 3,000 steps on procedural_dsprites, precision not recorded, stand-in data",
    ]
    assert list(found["models"]) == [1, 2, 1, 1]
    tc = tables.summarize(t)
    tc = tc[(tc["table"] == "scores") & (tc["quantity"] == tables.TC) & (tc["subset"] == "full")]
    assert sorted(tc.loc[tc["representation"] == "mean", "count"]) == [1, 1, 1, 2]  # only the two fp32 runs pooled
    columns = list(t.models.columns)
    assert columns[columns.index("origin") : columns.index("origin") + 3] == ["origin", "steps", "precision"]
    # fp32 is the default, named only when it distinguishes: one precision among the runs says nothing
    alone = groups.group_table(build([_beta_one("zoo", None), trained("bf", "bf16")]).models)
    assert list(alone["label"])[1] == "trained here, 3,000 steps on procedural_dsprites, bf16, stand-in data"


def test_study_coverage_counts_zoo_models_only():
    from vae_passive.report.provenance import study_coverage

    t = build([_beta_one("zoo", None), _beta_one("short", 200), make_document(1, origin={"kind": "trained"})])
    text = study_coverage(t.models)
    assert text.startswith("be-more-active: 1 of the study's")
    assert "beside them, not counted in: 2 models trained here" in text


def test_an_undefined_passive_tc_is_explained_not_dropped_silently():
    kinds = ["active"] * 6 + ["passive"] * 4
    doc = make_document(0, kinds=kinds)
    doc["latents"][9]["variance_of_mean"] = 0.0  # a dead unit: a constant column of the mean code
    for entry in doc["scores"]:
        if entry["representation"] == "mean" and entry["subset"] in ("passive", "full", "active+passive"):
            entry["gaussian_total_correlation"] = None
    t = build([doc, make_document(1, kinds=kinds)])
    row = t.scores[(t.scores["key"] == "0") & (t.scores["subset"] == "passive") & (t.scores["score"] == tables.TC)]
    assert row.set_index("representation").loc["mean", "missing"] == (
        "undefined: latent(s) 9 constant in the mean code (zero variance)"
    )
    assert row.set_index("representation").loc["sampled", "missing"] == ""
    found = {f.title: f.text for f in findings.findings(t)}
    assert found["Undefined scores"].startswith("1 model with two or more passive latents cannot enter claim (a)")
    assert "model 0, mean code: undefined: latent(s) 9 constant" in found["Undefined scores"]
    assert "Undefined scores" not in {f.title for f in findings.findings(build([make_document(1, kinds=kinds)]))}


def test_warnings_of_the_analysis_reach_the_models_table():
    doc = make_document(0)
    doc["warnings"] = ["every log-variance is ≥ 0"]
    t = build([doc, make_document(1)])
    assert list(t.models["warnings"].astype(str)) == ["every log-variance is ≥ 0", ""]
