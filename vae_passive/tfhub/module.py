"""Load disentanglement_lib TF1 Hub modules with TensorFlow 2 and encode images.

A path may be the module folder itself, a model folder ``<id>/`` (holding ``model/tfhub``), or a
postprocessed ``representation`` module (``<id>/postprocessed/mean/tfhub`` or its parent).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vae_passive.errors import VaePassiveError
from vae_passive.tfhub.architecture import IMAGE_SIZE
from vae_passive.tfhub.graph_check import check_module_graph
from vae_passive.tfhub.runtime import tensorflow

GAUSSIAN_ENCODER = "gaussian_encoder"
REPRESENTATION = "representation"
DEFAULT_BATCH_SIZE = 256


def resolve_module_path(path: str | Path) -> Path:
    """The module folder behind ``path`` (module, model folder or postprocessed folder)."""
    path = Path(path)
    if not path.exists():
        raise VaePassiveError(f"module folder {path} does not exist; check the path or fetch/import the model first")
    if not path.is_dir():
        raise VaePassiveError(f"{path} is a file, not a module folder; pass the folder that holds saved_model.pb")
    for candidate in (path, path / "model" / "tfhub", path / "tfhub"):
        if (candidate / "saved_model.pb").is_file():
            return candidate
    raise VaePassiveError(
        f"{path} is not a module: no saved_model.pb in it, in model/tfhub/ or in tfhub/; "
        "pass a model folder <id>/ or its model/tfhub/ folder"
    )


def graph_fingerprint(module_path: str | Path) -> str:
    """A hash of the inference graph and its variables, blind to weights and random seeds.

    Two modules with the same fingerprint differ only in their weights, so one loaded module
    can serve both by swapping weights in. The graph is checked first (``check_module_graph``),
    so a module refused at load is refused here too, whatever its fingerprint.
    """
    tf = tensorflow()
    module_path = Path(module_path)
    proto = check_module_graph(module_path)
    digest = hashlib.sha256()
    for meta_graph in proto.meta_graphs:
        if list(meta_graph.meta_info_def.tags):
            continue
        for node in meta_graph.graph_def.node:
            node.ClearField("device")
            for seed_attr in ("seed", "seed2"):
                if seed_attr in node.attr:
                    del node.attr[seed_attr]
        digest.update(meta_graph.graph_def.SerializeToString(deterministic=True))
        for name in sorted(meta_graph.signature_def):
            digest.update(name.encode())
            digest.update(meta_graph.signature_def[name].SerializeToString(deterministic=True))
    for name, shape in tf.train.list_variables(str(module_path / "variables" / "variables")):
        digest.update(f"{name}:{shape}".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Codes:
    """Encoder outputs for N images: ``mean`` and ``logvar``, float32 arrays of shape (N, latents)."""

    mean: np.ndarray
    logvar: np.ndarray


def validate_images(images: np.ndarray, channels: int) -> None:
    """Raise a clear error unless ``images`` is float (N, 64, 64, channels) with values in [0, 1]."""
    if not isinstance(images, np.ndarray):
        raise VaePassiveError(f"images must be a numpy array, not {type(images).__name__}")
    if not np.issubdtype(images.dtype, np.floating):
        hint = " (divide uint8 images by 255)" if images.dtype == np.uint8 else ""
        raise VaePassiveError(f"images have dtype {images.dtype}; the module needs float32 in [0, 1]{hint}")
    expected = (IMAGE_SIZE, IMAGE_SIZE, channels)
    if images.ndim != 4 or images.shape[1:] != expected:
        raise VaePassiveError(
            f"images have shape {images.shape}; the module needs (N, {IMAGE_SIZE}, {IMAGE_SIZE}, {channels})"
        )
    if images.size:
        low, high = float(np.min(images)), float(np.max(images))
        if not (np.isfinite(low) and np.isfinite(high)):
            raise VaePassiveError("images contain NaN or infinite values; the module needs values in [0, 1]")
        if low < 0.0 or high > 1.0:
            raise VaePassiveError(f"image values span [{low:g}, {high:g}]; the module needs values in [0, 1]")


class Module:
    """A loaded module: ``encode`` (gaussian encoder), ``represent``, ``decode``, ``swap_weights``."""

    def __init__(self, path: str | Path):
        self.path = resolve_module_path(path)
        check_module_graph(self.path)  # before TensorFlow runs any of the graph
        tf = tensorflow()
        try:
            self._loaded = tf.saved_model.load(str(self.path), tags=[])
        except Exception as error:  # TensorFlow raises many types; the message is what matters.
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise VaePassiveError(f"cannot load module {self.path}: {first_line}") from None
        signatures = self._loaded.signatures
        outputs: tuple[str, ...]
        if GAUSSIAN_ENCODER in signatures:
            self.kind = GAUSSIAN_ENCODER
            outputs = ("mean", "logvar")
        elif REPRESENTATION in signatures:
            self.kind = REPRESENTATION
            outputs = ("default",)
        else:
            raise VaePassiveError(
                f"module {self.path} has no '{GAUSSIAN_ENCODER}' or '{REPRESENTATION}' signature "
                f"(it has {sorted(signatures) or 'none'}); is it a disentanglement_lib module?"
            )
        self._encoder = signatures[self.kind]
        spec = self._encoder.structured_input_signature[1].get("images")
        shape = tuple(spec.shape) if spec is not None else ()
        if spec is None or len(shape) != 4 or shape[1:3] != (IMAGE_SIZE, IMAGE_SIZE) or shape[3] not in (1, 3):
            raise VaePassiveError(
                f"module {self.path}: signature '{self.kind}' must take images of shape (N, 64, 64, 1 or 3), "
                f"not {shape or 'no images input'}"
            )
        self.channels: int = int(shape[3])
        out_specs = self._encoder.structured_outputs
        if any(name not in out_specs for name in outputs):
            raise VaePassiveError(
                f"module {self.path}: signature '{self.kind}' must output {list(outputs)}, not {sorted(out_specs)}"
            )
        self.num_latents: int = int(out_specs[outputs[0]].shape[-1])
        self._decoder = signatures.get("decoder")
        self._variables = {v.name.split(":")[0]: v for v in self._loaded.variables}

    def _run(self, images: np.ndarray, batch_size: int) -> dict[str, np.ndarray]:
        validate_images(images, self.channels)
        if batch_size < 1:
            raise VaePassiveError(f"batch size must be at least 1, not {batch_size}")
        tf = tensorflow()
        count = len(images)
        results: dict[str, np.ndarray] = {}
        for start in range(0, count, batch_size):
            batch = np.ascontiguousarray(images[start : start + batch_size], dtype=np.float32)
            for name, value in self._encoder(images=tf.constant(batch)).items():
                if name not in results:
                    results[name] = np.empty((count, *value.shape[1:]), np.float32)
                results[name][start : start + len(batch)] = value.numpy()
        for name, value in results.items():
            if not np.all(np.isfinite(value)):
                raise VaePassiveError(
                    f"module {self.path} produced NaN or infinite '{name}' codes; the model is broken"
                )
        return results

    def encode(self, images: np.ndarray, batch_size: int = DEFAULT_BATCH_SIZE) -> Codes:
        """Mean and log-variance of q(z|x) for float images (N, 64, 64, C) in [0, 1]."""
        if self.kind != GAUSSIAN_ENCODER:
            raise VaePassiveError(
                f"module {self.path} is a postprocessed representation module without log-variances; "
                "use the trained model's model/tfhub module"
            )
        if len(images) == 0:
            validate_images(images, self.channels)
            empty = np.empty((0, self.num_latents), np.float32)
            return Codes(empty, empty.copy())
        out = self._run(images, batch_size)
        return Codes(mean=out["mean"], logvar=out["logvar"])

    def represent(self, images: np.ndarray, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """The representation module's ``default`` output (or the mean, for a trained-model module)."""
        if self.kind == GAUSSIAN_ENCODER:
            return self.encode(images, batch_size).mean
        return self._run(images, batch_size)["default"]

    def decode(self, latents: np.ndarray, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Decoder logits (N, 64, 64, C) for latent vectors (N, latents); images are sigmoid(logits)."""
        if self._decoder is None:
            raise VaePassiveError(f"module {self.path} has no 'decoder' signature")
        latents = np.asarray(latents, np.float32)
        if latents.ndim != 2 or latents.shape[1] != self.num_latents:
            raise VaePassiveError(
                f"latent vectors have shape {latents.shape}; the decoder needs (N, {self.num_latents})"
            )
        tf = tensorflow()
        parts = [
            self._decoder(latent_vectors=tf.constant(latents[i : i + batch_size]))["images"].numpy()
            for i in range(0, len(latents), batch_size)
        ]
        return np.concatenate(parts) if parts else np.empty((0, IMAGE_SIZE, IMAGE_SIZE, self.channels), np.float32)

    def fingerprint(self) -> str:
        """``graph_fingerprint`` of this module's files."""
        return graph_fingerprint(self.path)

    def swap_weights(self, path: str | Path) -> None:
        """Assign the weights of another module of the same graph (check ``graph_fingerprint`` first).

        Only the other module's checkpoint is read, never its graph; the graph is still checked so
        that a module refused at load is refused here too.
        """
        source = resolve_module_path(path)
        check_module_graph(source)
        self._assign_weights(source)

    def _assign_weights(self, source: Path) -> None:
        """Read every variable of the module folder ``source`` with one RestoreV2 and assign it."""
        tf = tensorflow()
        prefix = str(source / "variables" / "variables")
        try:
            available = dict(tf.train.list_variables(prefix))
        except Exception:  # a missing or unreadable checkpoint index
            raise VaePassiveError(
                f"cannot swap weights from {source}: its variables checkpoint is unreadable"
            ) from None
        names = list(self._variables)
        for name in names:
            if tuple(available.get(name, ())) != tuple(self._variables[name].shape):
                raise VaePassiveError(f"cannot swap weights from {source}: variable {name} is missing or differs")
        values = tf.raw_ops.RestoreV2(
            prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names), dtypes=[tf.float32] * len(names)
        )
        for name, value in zip(names, values, strict=True):
            self._variables[name].assign(value)
        self.path = source


class ModulePool:
    """One loaded module per graph fingerprint, reused across models by swapping weights in.

    Modules of one architecture share a graph, so a worker that analyses thousands of models
    keeps at most one loaded module per graph (1- and 3-channel), and memory stays flat.
    """

    def __init__(self) -> None:
        self._by_fingerprint: dict[str, Module] = {}

    def get(self, path: str | Path) -> Module:
        """A module holding the weights of ``path``."""
        resolved = resolve_module_path(path)
        try:
            fingerprint = graph_fingerprint(resolved)  # checks the graph
        except Exception:  # a refused, unreadable graph or checkpoint: let a fresh load report it
            return Module(resolved)
        module = self._by_fingerprint.get(fingerprint)
        if module is None:
            module = Module(resolved)
            self._by_fingerprint[fingerprint] = module
        else:
            module._assign_weights(resolved)  # graph checked by graph_fingerprint above
        return module
