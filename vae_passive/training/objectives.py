"""The six unsupervised_study_v1 objectives as TensorFlow functions (after disentanglement_lib's
``methods/unsupervised/vae.py``; written from its definitions).

Every objective is ``reconstruction_loss + regularizer``; the reconstruction loss is the Bernoulli
log-likelihood on logits summed over pixels, averaged over the batch, and ``kl_loss`` is the batch
mean of KL(q(z|x) || N(0, I)). ``tf`` is passed in, as in ``network``. Also what each method's
iteration counts as in global steps, and FactorVAE's discriminator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vae_passive.zoo import catalogue


@dataclass(frozen=True)
class Objective:
    """A method with its hyperparameters, as train.gin records them."""

    method: str
    value: float  # the swept hyperparameter

    @property
    def gin_bindings(self) -> dict[str, object]:
        """The method's gin bindings, upstream names."""
        bindings: dict[str, object] = {"model.model": f"@{self.method}()"}
        if self.method == "beta_vae":
            bindings["vae.beta"] = self.value
        elif self.method == "factor_vae":
            bindings["factor_vae.gamma"] = self.value
            bindings["discriminator.discriminator_fn"] = "@fc_discriminator"
            bindings["discriminator_optimizer.optimizer_fn"] = "@AdamOptimizer"
        elif self.method in ("dip_vae_i", "dip_vae_ii"):
            bindings["dip_vae.lambda_od"] = self.value
            bindings["dip_vae.lambda_d_factor"] = 10.0 if self.method == "dip_vae_i" else 1.0
            bindings["dip_vae.dip_type"] = "i" if self.method == "dip_vae_i" else "ii"
        elif self.method == "beta_tc_vae":
            bindings["beta_tc_vae.beta"] = self.value
        elif self.method == "annealed_vae":
            bindings["annealed_vae.c_max"] = self.value
            bindings["annealed_vae.gamma"] = ANNEALED_GAMMA
            bindings["annealed_vae.iteration_threshold"] = ANNEALED_ITERATION_THRESHOLD
        return bindings

    @classmethod
    def for_model(cls, model_id: int) -> Objective:
        record = catalogue.record(model_id)
        return cls(record.method, record.value)


ANNEALED_GAMMA = 1000.0
ANNEALED_ITERATION_THRESHOLD = 100_000
DISCRIMINATOR_LAYERS = 6
DISCRIMINATOR_UNITS = 1000


def bernoulli_loss(tf, images, logits):
    """Per-sample Bernoulli negative log-likelihood of ``images`` under ``logits``, summed over pixels."""
    flat = tf.reshape(images, [tf.shape(images)[0], -1])
    flat_logits = tf.reshape(logits, [tf.shape(logits)[0], -1])
    return tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=flat, logits=flat_logits), axis=1)


def gaussian_kl(tf, mean, logvar):
    """Batch mean of KL(N(mean, exp(logvar)) || N(0, I))."""
    return tf.reduce_mean(0.5 * tf.reduce_sum(tf.square(mean) + tf.exp(logvar) - logvar - 1.0, axis=1))


def covariance_of_means(tf, mean):
    """Covariance (latents, latents) of the batch means (population normalisation)."""
    centred = mean - tf.reduce_mean(mean, axis=0, keepdims=True)
    return tf.matmul(centred, centred, transpose_a=True) / tf.cast(tf.shape(mean)[0], mean.dtype)


def dip_penalty(tf, matrix, lambda_od, lambda_d):
    """lambda_od * sum(off-diagonal^2) + lambda_d * sum((diagonal - 1)^2)."""
    diagonal = tf.linalg.diag_part(matrix)
    off_diagonal = matrix - tf.linalg.diag(diagonal)
    return lambda_od * tf.reduce_sum(tf.square(off_diagonal)) + lambda_d * tf.reduce_sum(tf.square(diagonal - 1.0))


def gaussian_log_density(tf, samples, mean, logvar):
    """Elementwise log N(samples; mean, exp(logvar))."""
    diff = samples - mean
    return -0.5 * (tf.square(diff) * tf.exp(-logvar) + logvar + math.log(2 * math.pi))


def minibatch_total_correlation(tf, sampled, mean, logvar):
    """The minibatch-weighted estimate of TC(q(z)) used by beta-TC-VAE."""
    log_qz_prob = gaussian_log_density(tf, sampled[:, None, :], mean[None, :, :], logvar[None, :, :])
    log_qz_product = tf.reduce_sum(tf.reduce_logsumexp(log_qz_prob, axis=1), axis=1)
    log_qz = tf.reduce_logsumexp(tf.reduce_sum(log_qz_prob, axis=2), axis=1)
    return tf.reduce_mean(log_qz - log_qz_product)


def shuffle_codes(tf, codes):
    """Permute each latent independently across the batch: samples of the product of marginals."""
    columns = tf.unstack(codes, axis=1)
    return tf.stack([tf.random.shuffle(column) for column in columns], axis=1)


def regularizer(tf, objective: Objective, step, kl_loss, mean, logvar, sampled, discriminator_logits=None):
    """The method's regularizer; ``step`` is the global step (annealed VAE's capacity schedule)."""
    method, value = objective.method, objective.value
    if method == "beta_vae":
        return value * kl_loss
    if method == "annealed_vae":
        progress = tf.cast(step, tf.float32) / ANNEALED_ITERATION_THRESHOLD
        capacity = tf.minimum(value * progress, value)
        return ANNEALED_GAMMA * tf.abs(kl_loss - capacity)
    if method == "factor_vae":
        tc = tf.reduce_mean(discriminator_logits[:, 0] - discriminator_logits[:, 1])
        return kl_loss + value * tc
    if method in ("dip_vae_i", "dip_vae_ii"):
        lambda_d = value * (10.0 if method == "dip_vae_i" else 1.0)
        cov = covariance_of_means(tf, mean)
        if method == "dip_vae_ii":
            cov = cov + tf.linalg.diag(tf.reduce_mean(tf.exp(logvar), axis=0))
        return kl_loss + dip_penalty(tf, cov, value, lambda_d)
    if method == "beta_tc_vae":
        return kl_loss + (value - 1.0) * minibatch_total_correlation(tf, sampled, mean, logvar)
    raise ValueError(f"unknown method {method!r}")


def global_steps_per_iteration(method: str) -> int:
    """How far one training iteration advances the global step, as in disentanglement_lib.

    Upstream's FactorVAE runs the VAE's and the discriminator's ``minimize(..., global_step=...)`` in one
    iteration, so each advances ``global_step``: 2 per iteration. Steps, checkpoints and logs count global
    steps, so a FactorVAE of 300,000 steps is 150,000 iterations, as the zoo's were.
    """
    return 2 if method == "factor_vae" else 1


def final_global_step(method: str, steps: int) -> int:
    """The global step a run of ``steps`` ends at: upstream stops at the first global step >= ``steps``."""
    increment = global_steps_per_iteration(method)
    return -(-steps // increment) * increment


def discriminator_weights(num_latents: int, seed: int) -> dict[str, np.ndarray]:
    """Glorot-uniform weights of FactorVAE's 6 x 1000 leaky-ReLU discriminator (2 logits)."""
    rng = np.random.default_rng(seed + 7919)
    weights, width = {}, num_latents
    names = ["dense"] + [f"dense_{i}" for i in range(1, DISCRIMINATOR_LAYERS + 1)]
    for i, name in enumerate(names):
        units = DISCRIMINATOR_UNITS if i < DISCRIMINATOR_LAYERS else 2
        limit = np.sqrt(6.0 / (width + units))
        weights[f"discriminator/{name}/kernel"] = rng.uniform(-limit, limit, (width, units)).astype(np.float32)
        weights[f"discriminator/{name}/bias"] = np.zeros(units, np.float32)
        width = units
    return weights


def discriminator_logits(tf, codes, var):
    """The discriminator's 2 logits of ``codes`` by the weights ``var`` (``discriminator_weights``' names)."""
    x = codes
    names = sorted({k.rsplit("/", 1)[0] for k in var}, key=lambda n: (len(n), n))
    for i, name in enumerate(names):
        x = tf.matmul(x, var[f"{name}/kernel"]) + var[f"{name}/bias"]
        if i < len(names) - 1:
            x = tf.nn.leaky_relu(x)
    return x
