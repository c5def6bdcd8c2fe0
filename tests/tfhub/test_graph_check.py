"""Module graphs are checked before TensorFlow runs them: hostile modules are refused, ours pass.

Hostile modules are the exporter's modules with nodes spliced into ``saved_model.pb``; for the
ones that do harm, a control run with the check switched off shows the harm is real.
"""

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from support.helpers import one_line_error, random_images

from vae_passive.data import get_dataset
from vae_passive.errors import VaePassiveError
from vae_passive.tfhub.graph_check import ALLOWED_OPS, CHECKPOINT_IO_OPS, TSTRING_BYTES, check_module_graph
from vae_passive.tfhub.module import Module, ModulePool, graph_fingerprint
from vae_passive.tfhub.runtime import tensorflow
from vae_passive.training.train import TrainConfig, train
from vae_passive.zoo.catalogue import model_id

# Ops of the modules tensorflow_hub 0.13's TF1 exporter writes for disentanglement_lib's network
# (its train.py export of model/tfhub, and postprocess.py's mean and sampled modules, whose
# graphs hold hub's sharded v1 Saver and checkpoint initializers), reproduced on TensorFlow 2.21.
UPSTREAM_OPS = {
    "AddV2", "AssignVariableOp", "BiasAdd", "Const", "Conv2D", "Conv2DBackpropInput", "Exp", "Fill",
    "Identity", "MatMul", "MergeV2Checkpoints", "Mul", "NoOp", "Pack", "Placeholder",
    "PlaceholderWithDefault", "RandomStandardNormal", "ReadVariableOp", "RealDiv", "Relu", "Reshape",
    "RestoreV2", "SaveV2", "Select", "Shape", "ShardedFilename", "StatelessRandomGetKeyCounter",
    "StatelessRandomUniformV2", "StaticRegexFullMatch", "StridedSlice", "StringJoin", "Sub",
    "VarHandleOp", "VarIsInitializedOp",
}  # fmt: skip
DT_FLOAT, DT_STRING = 1, 7


def saved_model(path: Path):
    from tensorflow.core.protobuf import saved_model_pb2

    tensorflow()
    return saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())


def tampered(source: Path, dest: Path, edit: Callable, train_only: bool = False) -> Path:
    """A copy of module ``source`` at ``dest`` with ``edit(meta_graph)`` applied to its MetaGraphs."""
    shutil.copytree(source, dest)
    proto = saved_model(dest)
    for meta_graph in proto.meta_graphs:
        if not train_only or list(meta_graph.meta_info_def.tags) == ["train"]:
            edit(meta_graph)
    (dest / "saved_model.pb").write_bytes(proto.SerializeToString())
    return dest


def splice(meta_graph, make: Callable) -> None:
    """Add the nodes (and functions) that ``make(tf)`` builds in a scratch graph, under ``hostile/``."""
    tf = tensorflow()
    graph = tf.Graph()
    with graph.as_default(), tf.name_scope("hostile"):
        make(tf)
    graph_def = graph.as_graph_def()
    meta_graph.graph_def.node.extend(graph_def.node)
    meta_graph.graph_def.library.function.extend(graph_def.library.function)


def gate_output(meta_graph, on: str, signature: str = "gaussian_encoder", output: str = "mean") -> None:
    """Make a signature output wait for node ``on`` (a control dependency through an Identity)."""
    info = meta_graph.signature_def[signature].outputs[output]
    node = meta_graph.graph_def.node.add(name=f"hostile/gated_{output}", op="Identity")
    node.input.extend([info.name, f"^{on}"])
    node.attr["T"].type = DT_FLOAT
    info.name = f"{node.name}:0"


def write_in_signature(target: Path) -> Callable:
    def edit(meta_graph):
        splice(meta_graph, lambda tf: tf.io.write_file(str(target), "pwned", name="w"))
        gate_output(meta_graph, "hostile/w")

    return edit


def write_in_main_op(target: Path) -> Callable:
    def edit(meta_graph):
        splice(meta_graph, lambda tf: tf.io.write_file(str(target), "pwned", name="w"))
        meta_graph.collection_def["saved_model_main_op"].node_list.value.append("hostile/w")

    return edit


def read_into_output(secret: Path) -> Callable:
    def edit(meta_graph):
        splice(meta_graph, lambda tf: tf.io.read_file(str(secret), name="r"))
        leak = meta_graph.signature_def["gaussian_encoder"].outputs["leak"]
        leak.name, leak.dtype = "hostile/r:0", DT_STRING

    return edit


def save_in_main_op(meta_graph) -> None:
    """The main op is the v1 Saver's save op: at load it writes a checkpoint to the default path."""
    save = meta_graph.saver_def.save_tensor_name.split(":")[0]
    meta_graph.collection_def["saved_model_main_op"].node_list.value.append(save)


def unchecked(monkeypatch) -> None:
    """Switch the check off, for control runs that show a hostile module does harm."""
    monkeypatch.setattr("vae_passive.tfhub.module.check_module_graph", lambda path: None)


def test_every_module_we_write_passes(module_1ch, module_3ch, model_folder_1ch):
    """Both MetaGraphs of the exporter's modules, 1 and 3 channels, and the postprocessed modules."""
    paths = [module_1ch, module_3ch, *(model_folder_1ch / "postprocessed" / k / "tfhub" for k in ("mean", "sampled"))]
    for path in paths:
        proto = check_module_graph(path)
        ops = {node.op for meta_graph in proto.meta_graphs for node in meta_graph.graph_def.node}
        assert ops <= ALLOWED_OPS | CHECKPOINT_IO_OPS
        assert ops >= CHECKPOINT_IO_OPS  # the v1 Saver's file ops are there, out of reach of signatures
    assert len(saved_model(module_1ch).meta_graphs) == 2


def test_trained_model_passes(tmp_path):
    mid = model_id("dsprites_full", "beta_vae", 0, 0)
    data = get_dataset("procedural_dsprites", 1)
    folder = train(TrainConfig.for_model(mid, data, 3, 4), data, tmp_path)
    for module in (folder / "model" / "tfhub", *(folder / "postprocessed" / k / "tfhub" for k in ("mean", "sampled"))):
        check_module_graph(module)
    assert Module(folder).num_latents == 10


def test_upstream_ops_are_allowed():
    assert UPSTREAM_OPS <= ALLOWED_OPS | CHECKPOINT_IO_OPS
    assert {"WriteFile", "ReadFile", "MatchingFiles", "PyFunc", "EagerPyFunc", "PrintV2"}.isdisjoint(ALLOWED_OPS)


def test_write_file_in_signature(module_1ch, tmp_path, monkeypatch):
    target = tmp_path / "written"
    hostile = tampered(module_1ch, tmp_path / "hostile", write_in_signature(target))
    with pytest.raises(VaePassiveError, match=r"holds op WriteFile \(node 'hostile/w'\).*people you trust"):
        Module(hostile).encode(random_images(2, 1))
    with pytest.raises(VaePassiveError, match="WriteFile"):
        graph_fingerprint(hostile)
    assert not target.exists()
    unchecked(monkeypatch)
    Module(hostile).encode(random_images(2, 1))
    assert target.read_text() == "pwned"


def test_write_file_in_main_op(module_1ch, tmp_path, monkeypatch):
    target = tmp_path / "written"
    hostile = tampered(module_1ch, tmp_path / "hostile", write_in_main_op(target))
    with pytest.raises(VaePassiveError, match=r"holds op WriteFile \(node 'hostile/w'\)"):
        Module(hostile)
    assert not target.exists()
    unchecked(monkeypatch)
    Module(hostile)
    assert target.read_text() == "pwned"


def test_read_file_into_output(module_1ch, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    hostile = tampered(module_1ch, tmp_path / "hostile", read_into_output(secret))
    with pytest.raises(VaePassiveError, match=r"holds op ReadFile \(node 'hostile/r'\)"):
        Module(hostile)
    tf = tensorflow()  # control: loaded as it is, the signature hands out the file
    leaked = tf.saved_model.load(str(hostile), tags=[]).signatures["gaussian_encoder"](
        images=tf.constant(random_images(1, 1))
    )["leak"]
    assert leaked.numpy() == b"s3cret"


def test_function_library_with_write_file(module_1ch, tmp_path):
    target = tmp_path / "written"

    def make(tf):
        @tf.function
        def hidden():
            tf.io.write_file(str(target), "pwned")
            return tf.constant(0.0)

        hidden()

    def edit(meta_graph):
        splice(meta_graph, make)
        call = next(n.name for n in meta_graph.graph_def.node if n.op == "StatefulPartitionedCall")
        gate_output(meta_graph, call)

    hostile = tampered(module_1ch, tmp_path / "hostile", edit)
    with pytest.raises(VaePassiveError, match=r"\(function '.*hidden.*'\) holds op WriteFile"):
        Module(hostile).encode(random_images(2, 1))
    assert not target.exists()


def test_function_attribute(module_1ch, tmp_path):
    def edit(meta_graph):
        node = next(n for n in meta_graph.graph_def.node if n.op == "Relu")
        node.attr["_hidden"].func.name = "hidden"

    hostile = tampered(module_1ch, tmp_path / "hostile", edit)
    with pytest.raises(VaePassiveError, match=r"calls a function through attribute '_hidden'"):
        Module(hostile)


def test_saver_file_ops_out_of_reach(module_1ch, tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    hostile = tampered(module_1ch, tmp_path / "save_main", save_in_main_op)
    with pytest.raises(
        VaePassiveError, match=r"runs op (SaveV2|MergeV2Checkpoints) .*collection 'saved_model_main_op'"
    ):
        Module(hostile)
    assert not list(cwd.iterdir())

    def restore_into_output(meta_graph):
        restore = next(n.name for n in meta_graph.graph_def.node if n.op == "RestoreV2")
        gate_output(meta_graph, restore)

    hostile = tampered(module_1ch, tmp_path / "restore_sig", restore_into_output)
    with pytest.raises(VaePassiveError, match=r"runs op RestoreV2 .*signature 'gaussian_encoder'"):
        Module(hostile)

    def save_as_restore(meta_graph):
        meta_graph.saver_def.restore_op_name = meta_graph.saver_def.save_tensor_name.split(":")[0]

    hostile = tampered(module_1ch, tmp_path / "save_restore", save_as_restore)
    with pytest.raises(VaePassiveError, match=r"runs op (SaveV2|MergeV2Checkpoints) .*saver's restore op"):
        Module(hostile)
    assert not list(cwd.iterdir())
    unchecked(monkeypatch)  # control: the save op as main op writes a checkpoint at load
    Module(tmp_path / "save_main")
    assert list(cwd.iterdir())


def test_constant_size_limit(module_1ch, tmp_path, monkeypatch):
    def big_const(meta_graph):  # 20 MiB once expanded, a few bytes in the file
        splice(
            meta_graph,
            lambda tf: tf.raw_ops.Const(value=tf.make_tensor_proto(0.0, shape=[5 * 2**20]), dtype=tf.float32),
        )

    hostile = tampered(module_1ch, tmp_path / "hostile", big_const)
    assert (hostile / "saved_model.pb").stat().st_size < 1_000_000
    with pytest.raises(
        VaePassiveError, match=r"constant 'hostile/Const' holds 20971520 bytes.*VAE_PASSIVE_MAX_CONST_BYTES"
    ):
        Module(hostile)
    monkeypatch.setenv("VAE_PASSIVE_MAX_CONST_BYTES", str(32 * 2**20))
    check_module_graph(hostile)
    monkeypatch.setenv("VAE_PASSIVE_MAX_CONST_BYTES", "64")
    with pytest.raises(VaePassiveError, match="above the limit of 64"):
        check_module_graph(module_1ch)
    monkeypatch.setenv("VAE_PASSIVE_MAX_CONST_BYTES", "16MiB")
    with pytest.raises(VaePassiveError, match="VAE_PASSIVE_MAX_CONST_BYTES must be a positive number of bytes"):
        check_module_graph(module_1ch)


def test_string_constants_count_as_expanded(module_1ch, tmp_path, monkeypatch):
    """One 1 KiB value broadcast to a [8388608] string constant passed the check and crashed analyze (4.4 GB)."""

    def string_const(shape: list[int], value: bytes) -> Callable:
        def edit(meta_graph):
            splice(
                meta_graph, lambda tf: tf.raw_ops.Const(value=tf.make_tensor_proto(value, shape=shape), dtype=tf.string)
            )

        return edit

    hostile = tampered(module_1ch, tmp_path / "hostile", string_const([8388608], b"x" * 1024))
    assert (hostile / "saved_model.pb").stat().st_size < 1_000_000
    expanded = 8388608 * (1024 + TSTRING_BYTES)
    with pytest.raises(VaePassiveError, match=f"constant 'hostile/Const' holds {expanded} bytes"):
        check_module_graph(hostile)
    empty = tampered(module_1ch, tmp_path / "empty", string_const([2**20], b""))  # 24 MiB of tstrings
    with pytest.raises(VaePassiveError, match=f"holds {2**20 * TSTRING_BYTES} bytes"):
        check_module_graph(empty)
    small = tampered(module_1ch, tmp_path / "small", string_const([1000], b"x" * 1024))  # ~1 MB: under the cap
    check_module_graph(small)


def test_graph_size_limit(module_1ch, tmp_path, monkeypatch):
    huge = tmp_path / "huge"
    shutil.copytree(module_1ch, huge)
    with open(huge / "saved_model.pb", "r+b") as pb:
        pb.truncate(64 * 2**20 + 1)  # sparse: refused from its size, never read
    with pytest.raises(VaePassiveError, match=r"saved_model.pb has 67108865 bytes.*VAE_PASSIVE_MAX_GRAPH_BYTES"):
        Module(huge)
    monkeypatch.setenv("VAE_PASSIVE_MAX_GRAPH_BYTES", "1000")
    with pytest.raises(VaePassiveError, match="above the limit of 1000"):
        Module(module_1ch)


def test_malformed_local_variable(module_1ch, tmp_path):
    def edit(meta_graph):
        meta_graph.collection_def["local_variables"].bytes_list.value.append(b"\xff\xff")

    with pytest.raises(VaePassiveError, match=r"cannot load module .* not a VariableDef"):
        Module(tampered(module_1ch, tmp_path / "hostile", edit))


def test_tf2_saved_model_refused(tmp_path):
    tf = tensorflow()
    tf.saved_model.save(tf.Module(), str(tmp_path / "tf2"))
    with pytest.raises(VaePassiveError, match="is a TF2 SavedModel"):
        Module(tmp_path / "tf2")


def test_swap_path_checks_each_graph(module_1ch, tmp_path):
    """A hostile train MetaGraph leaves the fingerprint's graph alone; the pool still refuses it."""
    target = tmp_path / "written"
    hostile = tampered(module_1ch, tmp_path / "hostile", write_in_main_op(target), train_only=True)
    pool = ModulePool()
    loaded = pool.get(module_1ch)
    before = loaded.path
    with pytest.raises(VaePassiveError, match="WriteFile"):
        pool.get(hostile)
    with pytest.raises(VaePassiveError, match="WriteFile"):
        Module(module_1ch).swap_weights(hostile)
    assert loaded.path == before and not target.exists()  # no weights swapped in, nothing written


def test_cli_encode_refuses_hostile_module(cli, module_1ch, tmp_path):
    target = tmp_path / "written"
    hostile = tampered(module_1ch, tmp_path / "hostile", write_in_signature(target))
    np.save(tmp_path / "x.npy", random_images(2, 1))
    out = tmp_path / "codes.npz"
    line = one_line_error(cli("encode", "--model-dir", hostile, "--images", tmp_path / "x.npy", "--out", out))
    assert "WriteFile" in line and "hostile/w" in line and str(hostile) in line
    assert not target.exists() and not out.exists()
