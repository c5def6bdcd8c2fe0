"""Write modules in the TF1 Hub format of disentanglement_lib, and model folders and zips.

A module is a SavedModel with two MetaGraphs, tagged ``["train"]`` and ``[]``, each with the
signatures ``gaussian_encoder``, ``decoder`` and ``reconstructions``, plus the two-byte
``tfhub_module.pb``. Graphs are built with ``tf.compat.v1`` and resource variables; the weights go
into the variables checkpoint, never into the graph.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from vae_passive.tfhub.architecture import IMAGE_SIZE, check_weights
from vae_passive.tfhub.network import decoder_forward, encoder_forward
from vae_passive.tfhub.runtime import tensorflow

TFHUB_MODULE_PB = b"\x08\x03"  # ModuleDef { format: 3 }
PREDICT_METHOD = "tensorflow/serving/predict"


def _signature(tf, inputs: Mapping, outputs: Mapping):
    utils = tf.compat.v1.saved_model.utils
    return tf.compat.v1.saved_model.signature_def_utils.build_signature_def(
        inputs={k: utils.build_tensor_info(v) for k, v in inputs.items()},
        outputs={k: utils.build_tensor_info(v) for k, v in outputs.items()},
        method_name=PREDICT_METHOD,
    )


def _save(path: Path, weights: Mapping[str, np.ndarray], build) -> None:
    """Build the graph with ``build(tf, var) -> signatures``, save both MetaGraphs atomically."""
    tf = tensorflow()
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists; remove it first")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        graph = tf.Graph()
        with graph.as_default():
            var = {
                name: tf.compat.v1.get_variable(
                    name,
                    shape=np.shape(value),
                    dtype=tf.float32,
                    initializer=tf.compat.v1.zeros_initializer(),
                    use_resource=True,
                )
                for name, value in weights.items()
            }
            signatures = build(tf, var)
            builder = tf.compat.v1.saved_model.Builder(str(staging / "module"))
            with tf.compat.v1.Session(graph=graph) as session:
                # Feeding each initial value keeps the weights out of the graph definition.
                session.run(
                    [v.initializer for v in var.values()],
                    feed_dict={var[n].initial_value: np.asarray(w, np.float32) for n, w in weights.items()},
                )
                builder.add_meta_graph_and_variables(
                    session, ["train"], signature_def_map=signatures, strip_default_attrs=True
                )
                builder.add_meta_graph([], signature_def_map=signatures, strip_default_attrs=True)
            builder.save()
        (staging / "module" / "tfhub_module.pb").write_bytes(TFHUB_MODULE_PB)
        os.replace(staging / "module", path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_module(path: str | Path, weights: Mapping[str, np.ndarray], channels: int, num_latents: int) -> Path:
    """Write a trained-model module (``model/tfhub`` of a zip) for ``weights`` named as upstream."""
    check_weights(weights, channels, num_latents)

    def build(tf, var):
        images = tf.compat.v1.placeholder(tf.float32, [None, IMAGE_SIZE, IMAGE_SIZE, channels], name="images")
        mean, logvar = encoder_forward(tf, images, var)
        sampled = mean + tf.exp(logvar / 2) * tf.random.normal(tf.shape(mean))
        latents = tf.compat.v1.placeholder(tf.float32, [None, num_latents], name="latent_vectors")
        return {
            "gaussian_encoder": _signature(tf, {"images": images}, {"mean": mean, "logvar": logvar}),
            "reconstructions": _signature(
                tf, {"images": images}, {"images": decoder_forward(tf, sampled, var, channels)}
            ),
            "decoder": _signature(
                tf, {"latent_vectors": latents}, {"images": decoder_forward(tf, latents, var, channels)}
            ),
        }

    _save(Path(path), weights, build)
    return Path(path)


def write_representation_module(
    path: str | Path, weights: Mapping[str, np.ndarray], channels: int, num_latents: int, kind: str
) -> Path:
    """Write a postprocessed ``representation`` module (``kind`` = mean or sampled), encoder weights only."""
    if kind not in ("mean", "sampled"):
        raise ValueError(f"representation kind must be 'mean' or 'sampled', not {kind!r}")
    check_weights(weights, channels, num_latents)
    encoder_weights = {k: v for k, v in weights.items() if k.startswith("encoder/")}

    def build(tf, var):
        images = tf.compat.v1.placeholder(tf.float32, [None, IMAGE_SIZE, IMAGE_SIZE, channels], name="images")
        mean, logvar = encoder_forward(tf, images, var)
        code = mean if kind == "mean" else mean + tf.exp(logvar / 2) * tf.random.normal(tf.shape(mean))
        return {"representation": _signature(tf, {"images": images}, {"default": code})}

    _save(Path(path), encoder_weights, build)
    return Path(path)


def train_gin(bindings: Mapping[str, object]) -> str:
    """A gin file in upstream's style: one ``name = value`` line per binding, strings quoted."""
    lines = []
    for key in sorted(bindings):
        value = bindings[key]
        quoted = isinstance(value, str) and not value.startswith("@")  # @references are not strings
        text = f"'{value}'" if quoted else str(value) if isinstance(value, str) else repr(value)
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


def write_model_folder(
    root: str | Path,
    model_key: int | str,
    weights: Mapping[str, np.ndarray],
    *,
    dataset: str,
    channels: int,
    num_latents: int,
    gin_bindings: Mapping[str, object] | None = None,
    train_config: Mapping[str, object] | None = None,
    train_results: Mapping[str, object] | None = None,
    postprocessed: bool = True,
) -> Path:
    """Write ``<root>/<model_key>/`` in the zip layout of unsupervised_study_v1; return that folder.

    Holds ``model/tfhub``, ``model/results/{gin/train.gin, json/train_config.json,
    json/train_results.json}`` and, with ``postprocessed``, the mean and sampled
    ``representation`` modules. Written to a temporary folder and renamed into place.
    """
    root = Path(root)
    final = root / str(model_key)
    if final.exists():
        raise FileExistsError(f"{final} already exists; remove it first")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model_key}.", dir=root))
    try:
        folder = staging / str(model_key)
        write_module(folder / "model" / "tfhub", weights, channels, num_latents)
        bindings = {"dataset.name": dataset, "encoder.num_latent": num_latents, **(gin_bindings or {})}
        results = folder / "model" / "results"
        (results / "gin").mkdir(parents=True)
        (results / "gin" / "train.gin").write_text(train_gin(bindings))
        (results / "json").mkdir()
        config: dict[str, object] = {k: repr(v) if not isinstance(v, str) else f"'{v}'" for k, v in bindings.items()}
        config.update(train_config or {})
        (results / "json" / "train_config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
        if train_results is not None:
            (results / "json" / "train_results.json").write_text(json.dumps(dict(train_results), indent=2))
        if postprocessed:
            for kind in ("mean", "sampled"):
                write_representation_module(
                    folder / "postprocessed" / kind / "tfhub", weights, channels, num_latents, kind
                )
        os.replace(folder, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def zip_model_folder(folder: str | Path, zip_path: str | Path) -> Path:
    """Zip ``<...>/<id>/`` as ``<id>.zip`` with the top folder ``<id>/``, written atomically."""
    folder, zip_path = Path(folder), Path(zip_path)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{zip_path.name}.", dir=zip_path.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(p for p in folder.rglob("*") if p.is_file()):
                archive.write(file, f"{folder.name}/{file.relative_to(folder).as_posix()}")
        os.replace(tmp, zip_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return zip_path
