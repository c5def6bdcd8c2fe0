"""Train unsupervised_study_v1 models to their published spec, with checkpoints and resume.

A model id fixes the method, hyperparameter, seed and data set (``catalogue``); the networks are
``network``'s encoder and decoder, the objectives ``objectives``; Adam (lr 1e-4, beta1 0.9,
beta2 0.999, epsilon 1e-8) as upstream, and for FactorVAE's discriminator Adam (lr 1e-4, beta1 0.5,
beta2 0.9). The result is written with the project's exporter in the zip layout.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vae_passive import home
from vae_passive.analysis.analyze import ENCODE_BATCH_SIZE
from vae_passive.data import GroundTruthData
from vae_passive.errors import VaePassiveError
from vae_passive.tfhub.architecture import IMAGE_SIZE, random_weights
from vae_passive.tfhub.exporter import write_model_folder, zip_model_folder
from vae_passive.tfhub.network import decoder_forward, encoder_forward
from vae_passive.tfhub.runtime import tensorflow
from vae_passive.training.logs import LogSettings, open_monitor, probe_sample
from vae_passive.training.objectives import (
    Objective,
    bernoulli_loss,
    discriminator_logits,
    discriminator_weights,
    final_global_step,
    gaussian_kl,
    global_steps_per_iteration,
    regularizer,
    shuffle_codes,
)
from vae_passive.zoo import catalogue
from vae_passive.zoo.origin import PRECISIONS

LEARNING_RATE = 1e-4
LOSS_TERMS = ("loss", "reconstruction_loss", "kl_loss", "regularizer", "elbo")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on; a checkpoint resumes only under the same config."""

    model_id: int
    method: str
    value: float
    seed: int
    dataset: str  # the catalogue's data set, recorded as dataset.name
    training_data: str  # what the images really came from (may be the procedural stand-in)
    channels: int
    num_latents: int
    steps: int
    batch_size: int
    precision: str = "fp32"

    @classmethod
    def for_model(
        cls,
        model_id: int,
        data: GroundTruthData | str,
        steps: int,
        batch_size: int,
        num_latents: int = catalogue.NUM_LATENTS,
        precision: str = "fp32",
    ) -> TrainConfig:
        """The config of ``model_id`` trained on ``data`` (or a data set's name, to plan before opening it)."""
        record = catalogue.record(model_id)
        if steps < 1 or batch_size < 2:
            raise VaePassiveError(f"--steps must be >= 1 and --batch-size >= 2 (got {steps} and {batch_size})")
        if precision not in PRECISIONS:
            raise VaePassiveError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        return cls(
            model_id=model_id,
            method=record.method,
            value=record.value,
            seed=record.seed,
            dataset=record.dataset,
            training_data=data if isinstance(data, str) else data.name,
            channels=record.channels,
            num_latents=num_latents,
            steps=steps,
            batch_size=batch_size,
            precision=precision,
        )

    def gin_bindings(self) -> dict[str, object]:
        """train.gin bindings, with upstream names, plus where the training images came from."""
        return {
            "dataset.name": self.dataset,
            "model.random_seed": self.seed,
            "model.training_steps": self.steps,
            "model.batch_size": self.batch_size,
            "encoder.num_latent": self.num_latents,
            "encoder.encoder_fn": "@conv_encoder",
            "decoder.decoder_fn": "@deconv_decoder",
            "reconstruction_loss.loss_fn": "@bernoulli_loss",
            "reconstruction_loss.activation": "logits",
            "vae_optimizer.optimizer_fn": "@AdamOptimizer",
            "AdamOptimizer.learning_rate": LEARNING_RATE,
            "AdamOptimizer.beta1": 0.9,
            "AdamOptimizer.beta2": 0.999,
            "AdamOptimizer.epsilon": 1e-8,
            "vae_passive.training_data": self.training_data,
            "vae_passive.precision": self.precision,
            **Objective(self.method, self.value).gin_bindings,
        }


class _Model:
    """Variables, optimizers and the compiled training step of one run."""

    def __init__(self, config: TrainConfig):
        tf = tensorflow()
        tf.random.set_seed(config.seed)
        self.config = config
        self.objective = Objective(config.method, config.value)
        initial = random_weights(config.channels, config.num_latents, seed=config.seed)
        self.vae_vars = {name: tf.Variable(value, name=name) for name, value in initial.items()}
        self.disc_vars: dict = {}
        self.step = tf.Variable(0, dtype=tf.int64, name="global_step")
        self.increment = global_steps_per_iteration(config.method)
        self.optimizer = tf.compat.v1.train.AdamOptimizer(LEARNING_RATE, beta1=0.9, beta2=0.999, epsilon=1e-8)
        trackables = {"step": self.step, "vae": tf.Module(), "optimizer": self.optimizer}
        trackables["vae"].variables_by_name = list(self.vae_vars.values())
        if config.method == "factor_vae":
            disc = discriminator_weights(config.num_latents, config.seed)
            self.disc_vars = {name: tf.Variable(value, name=name) for name, value in disc.items()}
            self.disc_optimizer = tf.compat.v1.train.AdamOptimizer(LEARNING_RATE, beta1=0.5, beta2=0.9, epsilon=1e-8)
            trackables["discriminator"] = tf.Module()
            trackables["discriminator"].variables_by_name = list(self.disc_vars.values())
            trackables["discriminator_optimizer"] = self.disc_optimizer
        self.checkpoint = tf.train.Checkpoint(**trackables)
        self.train_step = tf.function(self._train_step, autograph=False)  # Python-level branches only
        shape = [None, IMAGE_SIZE, IMAGE_SIZE, config.channels]
        self._encode = tf.function(
            lambda images: encoder_forward(tf, images, self.vae_vars),
            input_signature=[tf.TensorSpec(shape, tf.float32)],
            autograph=False,
        )

    def encode(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and log-variance (N, latents) of ``images`` by the current weights, in the exported
        module's batches (the analysis' ``ENCODE_BATCH_SIZE``), so that the codes are the module's."""
        tf = tensorflow()
        parts = [
            self._encode(tf.constant(images[i : i + ENCODE_BATCH_SIZE]))
            for i in range(0, len(images), ENCODE_BATCH_SIZE)
        ]
        return np.concatenate([m.numpy() for m, _ in parts]), np.concatenate([v.numpy() for _, v in parts])

    def _compute(self, tensor):
        """``tensor`` in the step's compute type: itself in fp32; a bfloat16 copy in bf16 (gradients flow back
        through the cast to the fp32 variable, so weights and optimizer state stay fp32)."""
        tf = tensorflow()
        return tf.cast(tensor, tf.bfloat16) if self.config.precision == "bf16" else tensor

    def _networks(self, tf, images):
        """The forward pass in the compute type, its outputs back in fp32 (losses are always fp32)."""
        vae = {name: self._compute(variable) for name, variable in self.vae_vars.items()}
        mean, logvar = (tf.cast(t, tf.float32) for t in encoder_forward(tf, self._compute(images), vae))
        sampled = mean + tf.exp(logvar / 2) * tf.random.normal(tf.shape(mean))
        logits = decoder_forward(tf, self._compute(sampled), vae, self.config.channels)
        return mean, logvar, sampled, tf.cast(logits, tf.float32)

    def _discriminate(self, tf, codes):
        disc = {name: self._compute(variable) for name, variable in self.disc_vars.items()}
        return tf.cast(discriminator_logits(tf, self._compute(codes), disc), tf.float32)

    def _train_step(self, images):
        tf = tensorflow()
        vae_list = list(self.vae_vars.values())
        disc_list = list(self.disc_vars.values())
        with tf.GradientTape(persistent=True) as tape:
            mean, logvar, sampled, logits = self._networks(tf, images)
            reconstruction = tf.reduce_mean(bernoulli_loss(tf, images, logits))
            kl = gaussian_kl(tf, mean, logvar)
            disc_logits = self._discriminate(tf, sampled) if disc_list else None
            reg = regularizer(tf, self.objective, self.step, kl, mean, logvar, sampled, disc_logits)
            loss = reconstruction + reg
            if disc_list:
                probs = tf.clip_by_value(tf.nn.softmax(disc_logits), 1e-6, 1 - 1e-6)
                shuffled = self._discriminate(tf, shuffle_codes(tf, tf.stop_gradient(sampled)))
                probs_shuffled = tf.clip_by_value(tf.nn.softmax(shuffled), 1e-6, 1 - 1e-6)
                # The discriminator maximises log p(true | z) + log p(shuffled | permuted z).
                disc_loss = -0.5 * (
                    tf.reduce_mean(tf.math.log(probs[:, 0])) + tf.reduce_mean(tf.math.log(probs_shuffled[:, 1]))
                )
        self.optimizer.apply_gradients(zip(tape.gradient(loss, vae_list), vae_list, strict=True))
        if disc_list:
            disc_grads = tape.gradient(disc_loss, disc_list)
            self.disc_optimizer.apply_gradients(zip(disc_grads, disc_list, strict=True))
        del tape
        self.step.assign_add(self.increment)
        return {
            "loss": loss,
            "reconstruction_loss": reconstruction,
            "kl_loss": kl,
            "regularizer": reg,
            "elbo": reconstruction + kl,
        }

    def weights(self) -> dict[str, np.ndarray]:
        return {name: variable.numpy() for name, variable in self.vae_vars.items()}


def checkpoint_dir(model_id: int) -> Path:
    """Where a run of ``model_id`` keeps its checkpoints until the model is written."""
    return home.home() / "training" / str(model_id)


#: Called after every iteration with (global steps done, total steps, the latest loss terms), and once
#: before the first with the step a resumed run starts from; the losses are measured every 25 iterations.
Progress = Callable[[int, int, Mapping[str, float]], None]


def train(
    config: TrainConfig,
    data: GroundTruthData,
    out_root: Path,
    *,
    checkpoint_every: int = 1000,
    zip_dir: Path | None = None,
    restart: bool = False,
    force: bool = False,
    progress: Progress | None = None,
    stop_after: int | None = None,
    log: LogSettings | None = None,
) -> Path:
    """Train (or resume) ``config`` on ``data`` and write ``<out_root>/<id>/``; return that folder.

    ``stop_after`` ends the run early after that many steps of this call, leaving a checkpoint (for
    tests of resume); the checkpoint folder is returned then. Ctrl-C also saves a checkpoint before
    stopping. With ``log``, the training dynamics are logged (``training.logs``, ``analysis.monitor``) into the folder's
    ``logs/`` (and, with ``keep_checkpoints``, each logged step's module into ``checkpoints/``).
    """
    tf = tensorflow()
    final = Path(out_root) / str(config.model_id)
    if final.exists() and not force:
        raise VaePassiveError(f"{final} already exists; pass --force to replace it or remove it first")
    ckpt_dir = _prepare_checkpoint_dir(config, restart)
    model = _Model(config)
    manager = tf.train.CheckpointManager(model.checkpoint, str(ckpt_dir), max_to_keep=2)
    if manager.latest_checkpoint:
        model.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    previous = _read_elapsed(ckpt_dir)
    _note_resume(ckpt_dir, int(model.step.numpy()))
    started = time.perf_counter()

    def elapsed() -> float:
        return previous + time.perf_counter() - started

    logger = _Logger(model, data, ckpt_dir, log) if log is not None else None
    try:
        losses, initial_loss = _run_steps(
            model, data, manager, ckpt_dir, elapsed, checkpoint_every, stop_after, progress, logger
        )
    except KeyboardInterrupt:
        manager.save(checkpoint_number=int(model.step.numpy()))
        _write_elapsed(ckpt_dir, elapsed())
        raise
    finally:
        if logger is not None:
            logger.monitor.close()
    done, seconds = int(model.step.numpy()), elapsed()
    if done < config.steps:
        manager.save(checkpoint_number=done)
        _write_elapsed(ckpt_dir, seconds)
        return ckpt_dir
    results = {**losses, "initial_loss": initial_loss}
    folder = _export(config, model, results, seconds, Path(out_root), force, ckpt_dir, logger)
    if zip_dir is not None:
        zip_model_folder(folder, Path(zip_dir) / f"{config.model_id}.zip")
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    return folder


def _prepare_checkpoint_dir(config: TrainConfig, restart: bool) -> Path:
    """The run's checkpoint folder, holding ``config``; refuses a checkpoint of other settings."""
    ckpt_dir = checkpoint_dir(config.model_id)
    config_file = ckpt_dir / "config.json"
    if restart:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    if config_file.exists() and json.loads(config_file.read_text()) != asdict(config):
        raise VaePassiveError(
            f"a checkpoint of model {config.model_id} with other settings exists in {ckpt_dir}; "
            "pass --restart to discard it"
        )
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    config_file.write_text(json.dumps(asdict(config), indent=1))
    return ckpt_dir


def _run_steps(
    model: _Model,
    data: GroundTruthData,
    manager: Any,
    ckpt_dir: Path,
    elapsed: Callable[[], float],
    checkpoint_every: int,
    stop_after: int | None,
    progress: Progress | None,
    logger: _Logger | None = None,
) -> tuple[dict[str, float], float | None]:
    """Run the training iterations from the model's global step until it reaches ``config.steps``;
    return the last loss terms and the first loss. Checkpoints fall at each multiple of
    ``checkpoint_every`` global steps reached (every 500 iterations of a FactorVAE at 1,000)."""
    tf = tensorflow()
    config = model.config
    start = int(model.step.numpy())
    last = final_global_step(config.method, config.steps)
    # A resumed run draws a fresh, equally distributed data stream keyed by its start step.
    random_state = np.random.RandomState([config.seed, start])
    losses: dict[str, float] = {}
    initial_loss = _read_initial_loss(ckpt_dir)
    if progress is not None:
        progress(start, config.steps, losses)
    if logger is not None:
        logger.at_start(start, last)
    for iteration, step in enumerate(range(start, last, model.increment)):
        if stop_after is not None and iteration >= stop_after:
            break
        _, images = data.sample(config.batch_size, random_state)
        terms = model.train_step(tf.constant(images))
        reached = step + model.increment
        if logger is not None:
            logger.after_step(reached, last, terms)
        if (step // model.increment) % 25 == 0 or reached == last:
            losses = {name: float(value) for name, value in terms.items()}
            if not all(np.isfinite(v) for v in losses.values()):
                raise VaePassiveError(f"training of model {config.model_id} diverged at step {step}: {losses}")
            if initial_loss is None:
                initial_loss = losses["loss"]
                (ckpt_dir / "initial_loss.txt").write_text(repr(initial_loss))
        if progress is not None:
            progress(reached, config.steps, losses)
        if reached // checkpoint_every > step // checkpoint_every:
            manager.save(checkpoint_number=reached)
            _write_elapsed(ckpt_dir, elapsed())
    return losses, initial_loss


class _Logger:
    """Logs the run's dynamics (``training.logs``) at the logged steps, with optional module checkpoints."""

    def __init__(self, model: _Model, data: GroundTruthData, ckpt_dir: Path, settings: LogSettings):
        self.model, self.settings, self.ckpt_dir = model, settings, ckpt_dir
        self.images = probe_sample(data, settings)
        self.monitor = open_monitor(ckpt_dir, settings)  # the folder's name, the model id, keys the noise
        self.seconds = 0.0

    def at_start(self, start: int, last: int) -> None:
        """Log the starting step unless a previous call of a resumed run already did."""
        if self.settings.logged(start, last) and start not in self.monitor.steps:
            self.record(start, dict.fromkeys(LOSS_TERMS, float("nan")))  # no step has run yet

    def after_step(self, step: int, last: int, terms: Mapping[str, Any]) -> None:
        if self.settings.logged(step, last):
            self.record(step, {name: float(value) for name, value in terms.items()})

    def record(self, step: int, losses: Mapping[str, float]) -> None:
        started = time.perf_counter()
        mean, logvar = self.model.encode(self.images)
        self.monitor.log(step, mean, logvar, losses)
        if self.settings.keep_checkpoints:
            root = self.ckpt_dir / "checkpoints"
            shutil.rmtree(root / f"step-{step}", ignore_errors=True)
            note = f"checkpoint at step {step} of a {self.model.config.steps}-step run"
            _write_folder(self.model.config, self.model.weights(), root, f"step-{step}", {"steps": step, "note": note})
        self.seconds += time.perf_counter() - started


def _note_resume(ckpt_dir: Path, start: int) -> None:
    """Remember each global step a call resumed from (none for a fresh start), for train_results.json."""
    if start > 0:
        with open(ckpt_dir / "resumed_from.txt", "a") as notes:
            notes.write(f"{start}\n")


def _resumed_from(ckpt_dir: Path) -> list[int]:
    path = ckpt_dir / "resumed_from.txt"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _read_initial_loss(ckpt_dir: Path) -> float | None:
    path = ckpt_dir / "initial_loss.txt"
    return float(path.read_text()) if path.exists() else None


def _read_elapsed(ckpt_dir: Path) -> float:
    path = ckpt_dir / "elapsed.txt"
    return float(path.read_text()) if path.exists() else 0.0


def _write_elapsed(ckpt_dir: Path, seconds: float) -> None:
    (ckpt_dir / "elapsed.txt").write_text(f"{seconds:.3f}")


def _write_folder(config: TrainConfig, weights: dict, root: Path, key: str, results: dict) -> Path:
    """``root/<key>/`` in the zip layout (``write_model_folder``) with this run's gin and config."""
    return write_model_folder(
        root,
        key,
        weights,
        dataset=config.dataset,
        channels=config.channels,
        num_latents=config.num_latents,
        gin_bindings=config.gin_bindings(),
        train_config={"vae_passive.training_config": json.dumps(asdict(config))},
        train_results=results,
    )


def _export(
    config: TrainConfig,
    model: _Model,
    losses: dict,
    elapsed: float,
    out_root: Path,
    force: bool,
    ckpt_dir: Path,
    logger: _Logger | None,
) -> Path:
    """Write the model folder (with the run's ``logs/`` and ``checkpoints/``); with ``force``, swap it
    in for an existing one."""
    tf = tensorflow()
    global_steps = int(model.step.numpy())
    results = {
        **{name: losses.get(name) for name in (*LOSS_TERMS, "initial_loss")},
        "elapsed_time": round(elapsed, 3),
        "steps": config.steps,
        "global_steps": global_steps,
        "iterations": global_steps // model.increment,
        "resumed_from": _resumed_from(ckpt_dir),
        "spec_steps": catalogue.SPEC_STEPS,
        "short_run": config.steps < catalogue.SPEC_STEPS,
        "training_data": config.training_data,
        "precision": config.precision,
        "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU",
    }
    if results["short_run"]:
        results["note"] = f"trained for {config.steps} steps, not the published {catalogue.SPEC_STEPS}"
    if logger is not None:
        results["logging_time"] = round(logger.seconds, 3)
    staging = out_root / f".train-{config.model_id}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        built = _write_folder(config, model.weights(), staging, str(config.model_id), results)
        for extra in ("logs", "checkpoints"):
            if (ckpt_dir / extra).is_dir():
                shutil.copytree(ckpt_dir / extra, built / extra)
        final = out_root / str(config.model_id)
        if final.exists() and force:
            old = out_root / f".old-{config.model_id}-{os.getpid()}"
            os.replace(final, old)
            shutil.rmtree(old)
        os.replace(built, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final
