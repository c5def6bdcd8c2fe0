import numpy as np
import pytest
from support import numpy_reference
from support.helpers import one_line_error, random_images

from vae_passive.errors import VaePassiveError
from vae_passive.tfhub.architecture import random_weights, weight_shapes
from vae_passive.tfhub.exporter import TFHUB_MODULE_PB, write_module
from vae_passive.tfhub.module import Module, graph_fingerprint
from vae_passive.tfhub.runtime import tensorflow


@pytest.mark.parametrize("channels", [1, 3])
def test_round_trip_matches_numpy(channels, module_1ch, module_3ch, weights_1ch, weights_3ch):
    path, weights = (module_1ch, weights_1ch) if channels == 1 else (module_3ch, weights_3ch)
    module = Module(path)
    assert (module.kind, module.channels, module.num_latents) == ("gaussian_encoder", channels, 10)
    x = random_images(37, channels, seed=channels)
    codes = module.encode(x, batch_size=16)
    mean, logvar = numpy_reference.encode(weights, x)
    assert codes.mean.dtype == np.float32 and codes.mean.shape == (37, 10)
    assert np.max(np.abs(codes.mean - mean)) <= 1e-4
    assert np.max(np.abs(codes.logvar - logvar)) <= 1e-4
    latents = np.random.default_rng(0).normal(size=(5, 10)).astype(np.float32)
    logits = module.decode(latents)
    assert logits.shape == (5, 64, 64, channels)
    assert np.max(np.abs(logits - numpy_reference.decode(weights, latents))) <= 1e-4


def test_module_files_are_upstream_format(module_1ch):
    assert (module_1ch / "tfhub_module.pb").read_bytes() == TFHUB_MODULE_PB == b"\x08\x03"
    assert (module_1ch / "variables" / "variables.index").is_file()
    tf = tensorflow()
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((module_1ch / "saved_model.pb").read_bytes())
    assert sorted(sorted(mg.meta_info_def.tags) for mg in proto.meta_graphs) == [[], ["train"]]
    for meta_graph in proto.meta_graphs:
        assert set(meta_graph.signature_def) == {"gaussian_encoder", "decoder", "reconstructions"}
        enc = meta_graph.signature_def["gaussian_encoder"]
        assert set(enc.inputs) == {"images"} and set(enc.outputs) == {"mean", "logvar"}
        assert set(meta_graph.signature_def["decoder"].inputs) == {"latent_vectors"}
    names = dict(tf.train.list_variables(str(module_1ch / "variables" / "variables")))
    assert {k: tuple(v) for k, v in names.items()} == weight_shapes(1, 10)
    # the plain TF2 loader works as the brief says
    loaded = tf.saved_model.load(str(module_1ch), tags=[])
    out = loaded.signatures["reconstructions"](images=tf.constant(random_images(2, 1)))
    assert out["images"].shape == (2, 64, 64, 1)


def test_any_latent_count(tmp_path):
    weights = random_weights(1, 3, seed=9)
    module = Module(write_module(tmp_path / "m", weights, 1, 3))
    x = random_images(4, 1)
    assert module.num_latents == 3
    assert np.allclose(module.encode(x).mean, numpy_reference.encode(weights, x)[0], atol=1e-4)


def test_resolves_model_folder_and_postprocessed(model_folder_1ch, weights_1ch):
    x = random_images(6, 1, seed=4)
    expected = numpy_reference.encode(weights_1ch, x)[0]
    assert np.allclose(Module(model_folder_1ch).encode(x).mean, expected, atol=1e-4)
    mean_module = Module(model_folder_1ch / "postprocessed" / "mean")
    assert mean_module.kind == "representation"
    assert np.allclose(mean_module.represent(x), expected, atol=1e-4)
    sampled = Module(model_folder_1ch / "postprocessed" / "sampled" / "tfhub").represent(x)
    assert sampled.shape == (6, 10) and not np.allclose(sampled, expected, atol=1e-3)
    with pytest.raises(VaePassiveError, match="without log-variances"):
        mean_module.encode(x)


def test_swap_weights(module_1ch, tmp_path, weights_1ch):
    other_weights = random_weights(1, 10, seed=42)
    other = write_module(tmp_path / "other", other_weights, 1, 10)
    assert graph_fingerprint(module_1ch) == graph_fingerprint(other)
    module = Module(module_1ch)
    x = random_images(5, 1)
    module.swap_weights(other)
    assert np.allclose(module.encode(x).mean, numpy_reference.encode(other_weights, x)[0], atol=1e-4)
    module.swap_weights(module_1ch)
    assert np.allclose(module.encode(x).mean, numpy_reference.encode(weights_1ch, x)[0], atol=1e-4)


def test_fingerprint_differs_across_graphs(module_1ch, module_3ch, tmp_path):
    assert graph_fingerprint(module_1ch) != graph_fingerprint(module_3ch)
    with pytest.raises(VaePassiveError, match="differs"):
        Module(module_1ch).swap_weights(module_3ch)


def test_validation_errors(module_1ch):
    module = Module(module_1ch)
    with pytest.raises(VaePassiveError, match=r"uint8.*divide"):
        module.encode((random_images(2, 1) * 255).astype(np.uint8))
    with pytest.raises(VaePassiveError, match=r"\(N, 64, 64, 1\)"):
        module.encode(random_images(2, 3))
    with pytest.raises(VaePassiveError, match=r"\(N, 64, 64, 1\)"):
        module.encode(np.zeros((2, 32, 32, 1), np.float32))
    with pytest.raises(VaePassiveError, match=r"span \[0, 2\]"):
        module.encode(random_images(2, 1) * 0 + np.float32(2) * (np.arange(2)[:, None, None, None] > 0))
    with pytest.raises(VaePassiveError, match="NaN"):
        module.encode(np.full((1, 64, 64, 1), np.nan, np.float32))
    assert module.encode(np.zeros((0, 64, 64, 1), np.float32)).mean.shape == (0, 10)


def test_non_finite_outputs(tmp_path):
    weights = random_weights(1, 10)
    weights["encoder/means/bias"] = np.full(10, np.inf, np.float32)
    module = Module(write_module(tmp_path / "broken", weights, 1, 10))
    with pytest.raises(VaePassiveError, match="NaN or infinite 'mean'"):
        module.encode(random_images(2, 1))


def test_load_errors(tmp_path):
    with pytest.raises(VaePassiveError, match="does not exist"):
        Module(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VaePassiveError, match="is not a module"):
        Module(tmp_path / "empty")
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / "saved_model.pb").write_bytes(b"not a protobuf")
    with pytest.raises(VaePassiveError, match="cannot load module"):
        Module(tmp_path / "garbage")
    with pytest.raises(VaePassiveError, match="no 'gaussian_encoder'"):
        Module(_saved_model_without_encoder(tmp_path / "other"))


def _saved_model_without_encoder(path):
    """A TF1 SavedModel with tags [] whose only signature is not the encoder."""
    tf = tensorflow()
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 3])
        y = x * 2.0
        info = tf.compat.v1.saved_model.utils.build_tensor_info
        sig = tf.compat.v1.saved_model.signature_def_utils.build_signature_def({"x": info(x)}, {"y": info(y)}, "")
        builder = tf.compat.v1.saved_model.Builder(str(path))
        with tf.compat.v1.Session(graph=graph) as session:
            builder.add_meta_graph_and_variables(session, [], signature_def_map={"double": sig})
        builder.save()
    return path


def test_cli_encode(cli, model_folder_1ch, tmp_path, weights_1ch):
    x = random_images(20, 1, seed=8)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "codes.npz"
    result = cli(
        "encode", "--model-dir", model_folder_1ch, "--images", tmp_path / "x.npy", "--out", out, "--noise-seed", 3
    )
    assert result.exit_code == 0, result.output
    codes = np.load(out)
    assert set(codes.files) == {"mean", "logvar", "sampled"}
    assert np.allclose(codes["mean"], numpy_reference.encode(weights_1ch, x)[0], atol=1e-4)
    assert codes["sampled"].shape == (20, 10)


def test_cli_encode_errors(cli, model_folder_1ch, tmp_path):
    np.save(tmp_path / "u8.npy", np.zeros((2, 64, 64, 1), np.uint8))
    np.save(tmp_path / "rgb.npy", random_images(2, 3))
    out = tmp_path / "codes.npz"
    base = ("encode", "--out", out, "--images")
    assert "uint8" in one_line_error(cli(*base, tmp_path / "u8.npy", "--model-dir", model_folder_1ch))
    assert "(N, 64, 64, 1)" in one_line_error(cli(*base, tmp_path / "rgb.npy", "--model-dir", model_folder_1ch))
    assert "does not exist" in one_line_error(cli(*base, tmp_path / "rgb.npy", "--model-dir", tmp_path / "nope"))
    assert "is not a module" in one_line_error(cli(*base, tmp_path / "rgb.npy", "--model-dir", tmp_path))
    assert "does not exist" in one_line_error(cli(*base, tmp_path / "none.npy", "--model-dir", model_folder_1ch))
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".codes")]
