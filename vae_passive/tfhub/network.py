"""The encoder and decoder as TensorFlow ops over a dict of variables named as upstream.

The same functions build the exported TF1 graphs (``exporter``) and run eagerly or in
``tf.function`` for training, so the trained and the exported networks cannot drift apart.
``tf`` is passed in so that this module does not import TensorFlow itself.
"""

from __future__ import annotations

import numpy as np

from vae_passive.tfhub.architecture import DECODER_DECONVS, ENCODER_CONVS, IMAGE_SIZE


def encoder_forward(tf, images, var):
    """Mean and log-variance heads of the conv encoder."""
    x = images
    for name, _size, _filters in ENCODER_CONVS:
        x = tf.nn.relu(
            tf.nn.bias_add(
                tf.nn.conv2d(x, var[f"encoder/{name}/kernel"], strides=2, padding="SAME"), var[f"encoder/{name}/bias"]
            )
        )
    x = tf.reshape(x, [-1, int(np.prod(x.shape[1:]))])
    x = tf.nn.relu(tf.nn.bias_add(tf.matmul(x, var["encoder/e5/kernel"]), var["encoder/e5/bias"]))
    mean = tf.identity(
        tf.nn.bias_add(tf.matmul(x, var["encoder/means/kernel"]), var["encoder/means/bias"]), name="mean"
    )
    logvar = tf.identity(
        tf.nn.bias_add(tf.matmul(x, var["encoder/log_var/kernel"]), var["encoder/log_var/bias"]), name="logvar"
    )
    return mean, logvar


def decoder_forward(tf, latents, var, channels):
    """Logits of the deconv decoder, shape (N, 64, 64, C)."""
    x = tf.nn.relu(tf.nn.bias_add(tf.matmul(latents, var["decoder/dense/kernel"]), var["decoder/dense/bias"]))
    x = tf.nn.relu(tf.nn.bias_add(tf.matmul(x, var["decoder/dense_1/kernel"]), var["decoder/dense_1/bias"]))
    x = tf.reshape(x, [-1, 4, 4, 64])
    batch = tf.shape(x)[0]
    for i, name in enumerate(DECODER_DECONVS):
        kernel = var[f"decoder/{name}/kernel"]
        size = int(x.shape[1]) * 2
        out_shape = tf.stack([batch, size, size, int(kernel.shape[2])])
        x = tf.nn.bias_add(
            tf.nn.conv2d_transpose(x, kernel, out_shape, strides=2, padding="SAME"), var[f"decoder/{name}/bias"]
        )
        if i < len(DECODER_DECONVS) - 1:
            x = tf.nn.relu(x)
    return tf.reshape(x, [-1, IMAGE_SIZE, IMAGE_SIZE, channels])
