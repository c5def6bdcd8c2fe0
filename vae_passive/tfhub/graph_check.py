"""Refuse module graphs that could do more than a disentanglement_lib VAE before TensorFlow runs them.

A module is a TensorFlow graph, and TensorFlow runs parts of it at load (the saver's restore op,
a main or init op) and whenever a signature is called. A graph can write files (``WriteFile``,
``SaveV2``), read them (``ReadFile``, ``RestoreV2``), call Python or functions, so
``saved_model.pb`` is parsed and checked here first, against the ops of the modules this
project and disentanglement_lib write (docs/security.md, "Module graphs", says how the list was made):

- every op of every MetaGraph and of every library function is in ``ALLOWED_OPS`` or in
  ``CHECKPOINT_IO_OPS``, and no node carries a function-valued attribute;
- checkpoint file ops are out of reach of what runs at load or on a call: signatures, every
  collection of ops (main op, legacy init op, table initializers, ...), local variable
  initializers; the saver's restore op may reach ``RestoreV2`` and nothing else of them;
- no TF2 object graph (a different loader that runs functions of the graph);
- ``saved_model.pb`` and each constant stay under size limits (weights live in the checkpoint).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from vae_passive import config
from vae_passive.errors import VaePassiveError
from vae_passive.tfhub.runtime import tensorflow

if TYPE_CHECKING:
    from tensorflow.core.protobuf.saved_model_pb2 import SavedModel

# The forward pass of disentanglement_lib's conv_encoder and deconv_decoder (tf.layers conv2d,
# flatten, dense, conv2d_transpose with relu), the sampled code mean + exp(logvar / 2) * N(0, 1)
# of the reconstructions signature and of the postprocessed "sampled" module, and their inputs.
NETWORK_OPS = frozenset(
    {
        "Placeholder",  # the images and latent_vectors inputs
        "Const",  # shapes, strides, 2 in logvar / 2 (size-capped below)
        "Identity",  # named outputs, hub's signature wiring
        "Conv2D",
        "BiasAdd",
        "Relu",
        "MatMul",
        "Reshape",  # flatten, and the decoder's 4x4x64 and output reshapes
        "Shape",  # flatten, conv2d_transpose's output shape, the noise's shape
        "StridedSlice",
        "Pack",
        "Conv2DBackpropInput",  # conv2d_transpose
        "Exp",
        "RealDiv",
        "Mul",
        "Add",  # TensorFlow 1.x writes Add where 2.x writes AddV2
        "AddV2",
        "RandomStandardNormal",  # the noise of sampled codes
    }
)

# Variables and their initial values: resource variables (TF Hub's exporter and ours), the TF1
# reference variables of older exporters, and the initializers of their kernels (glorot_uniform:
# RandomUniform in TF1, stateless Keras ops in TF2) and biases (zeros: Fill).
VARIABLE_OPS = frozenset(
    {
        "VarHandleOp",
        "ReadVariableOp",
        "AssignVariableOp",
        "VarIsInitializedOp",
        "VariableV2",
        "Assign",
        "IsVariableInitialized",
        "Fill",
        "Sub",
        "RandomUniform",
        "StatelessRandomUniformV2",
        "StatelessRandomGetKeyCounter",
    }
)

# The v1 Saver's bookkeeping around its file ops: the filename input, shard names (with TF's s3
# special case), and the NoOps that group restores. Pure string and control ops.
SAVER_OPS = frozenset(
    {"NoOp", "PlaceholderWithDefault", "StringJoin", "ShardedFilename", "StaticRegexFullMatch", "Select"}
)

ALLOWED_OPS = NETWORK_OPS | VARIABLE_OPS | SAVER_OPS

# Checkpoint file ops of the v1 Saver (ours in both MetaGraphs; TF Hub's in postprocessed modules,
# whose variable initializers also restore from the original module). SaveV2 writes files and
# MergeV2Checkpoints renames and deletes them; RestoreV2 reads checkpoint files. TensorFlow only
# runs them when a program saves or restores, so they may not be reached from what runs at load
# or on a call; the restore op, which TensorFlow runs at load, may reach RestoreV2 only.
CHECKPOINT_IO_OPS = frozenset({"SaveV2", "MergeV2Checkpoints", "RestoreV2"})
RESTORE_OPS = frozenset({"RestoreV2"})

MAX_GRAPH_BYTES_ENV = config.MAX_GRAPH_BYTES
MAX_CONST_BYTES_ENV = config.MAX_CONST_BYTES
DEFAULT_MAX_GRAPH_BYTES = 64 * 2**20  # ours are 150-250 KB
DEFAULT_MAX_CONST_BYTES = 16 * 2**20  # ours are under 1 KB
TSTRING_BYTES = 24  # sizeof(tensorflow::tstring), the container of each element of a string tensor

TRUST = "Only load modules from people you trust"


def _limit(variable: str, default: int) -> int:
    """A byte limit from the environment, read at each check so tests and users can change it."""
    text = config.text(variable)
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise VaePassiveError(f"{variable} must be a positive number of bytes, not {text!r}")
    return int(text)


def max_graph_bytes() -> int:
    """The largest ``saved_model.pb`` accepted (``VAE_PASSIVE_MAX_GRAPH_BYTES``, default 64 MiB)."""
    return _limit(MAX_GRAPH_BYTES_ENV, DEFAULT_MAX_GRAPH_BYTES)


def max_const_bytes() -> int:
    """The largest constant accepted in a graph (``VAE_PASSIVE_MAX_CONST_BYTES``, default 16 MiB)."""
    return _limit(MAX_CONST_BYTES_ENV, DEFAULT_MAX_CONST_BYTES)


def _node_name(reference: str) -> str:
    """The node behind an input or tensor reference: ``^name``, ``name:1``, ``name``."""
    return reference.lstrip("^").split(":")[0]


def _const_bytes(tensor) -> int:
    """Bytes a constant's value takes once TensorFlow expands it: the shape is filled by repeating the last value
    given, for strings too (one 1 KiB string in a [8388608] constant is 8 GiB, and once crashed ``analyze``), and
    every string element also costs its ``tstring`` container."""
    tf = tensorflow()
    count = 1
    for dim in tensor.tensor_shape.dim:
        count *= max(dim.size, 0)
    if tensor.dtype == tf.string.as_datatype_enum:
        values = tensor.string_val
        repeated = max(count - len(values), 0) * (len(values[-1]) if values else 0)
        given = sum(len(value) for value in values) + len(tensor.tensor_content)
        return max(count, len(values)) * TSTRING_BYTES + given + repeated
    try:
        itemsize = tf.dtypes.as_dtype(tensor.dtype).size
    except TypeError:  # not a dtype TensorFlow knows; the loader will refuse the graph
        itemsize = 1
    return max(count * itemsize, len(tensor.tensor_content))


def _check_nodes(path: Path, nodes: Iterable, where: str, const_limit: int) -> None:
    """Refuse an op outside the allowlist, a function-valued attribute or an oversized constant."""
    for node in nodes:
        if node.op not in ALLOWED_OPS and node.op not in CHECKPOINT_IO_OPS:
            raise VaePassiveError(
                f"module {path}{where} holds op {node.op} (node '{node.name}'), which no disentanglement_lib "
                f"module uses; refusing to load it. {TRUST}"
            )
        for key, value in node.attr.items():
            if value.HasField("func") or (value.HasField("list") and value.list.func):
                raise VaePassiveError(
                    f"module {path}{where}: node '{node.name}' ({node.op}) calls a function through "
                    f"attribute '{key}', which no disentanglement_lib module does; refusing to load it. {TRUST}"
                )
        if node.op == "Const" and (size := _const_bytes(node.attr["value"].tensor)) > const_limit:
            raise VaePassiveError(
                f"module {path}{where}: constant '{node.name}' holds {size} bytes, above the limit of "
                f"{const_limit} ({MAX_CONST_BYTES_ENV}); weights belong in the variables checkpoint. {TRUST}"
            )


def _tensor_names(info) -> Iterable[str]:
    """Tensor names of a signature's TensorInfo: dense, sparse or composite."""
    encoding = info.WhichOneof("encoding")
    if encoding == "name":
        yield info.name
    elif encoding == "coo_sparse":
        sparse = info.coo_sparse
        yield from (sparse.values_tensor_name, sparse.indices_tensor_name, sparse.dense_shape_tensor_name)
    elif encoding == "composite_tensor":
        for component in info.composite_tensor.components:
            yield from _tensor_names(component)


def _run_roots(meta_graph) -> Iterable[tuple[str, str]]:
    """(what, node reference) for everything TensorFlow runs at load or on a call, but the restore op."""
    from tensorflow.core.framework import variable_pb2

    for key, signature in meta_graph.signature_def.items():
        for info in (*signature.inputs.values(), *signature.outputs.values()):
            yield from ((f"signature '{key}'", name) for name in _tensor_names(info))
    for key, collection in meta_graph.collection_def.items():
        yield from ((f"collection '{key}'", name) for name in collection.node_list.value)
    local_variables = meta_graph.collection_def.get("local_variables")
    for raw in local_variables.bytes_list.value if local_variables is not None else ():
        variable = variable_pb2.VariableDef.FromString(raw)  # initialized at load when there is no main op
        yield f"local variable '{variable.variable_name}'", variable.initializer_name


def _check_reach(path: Path, nodes: dict, roots: Iterable[tuple[str, str]], forbidden: frozenset) -> None:
    """Refuse if a node of type ``forbidden`` is in the input closure (data and control) of ``roots``."""
    seen: set[str] = set()
    for what, root in roots:
        stack = [_node_name(root)]
        while stack:
            name = stack.pop()
            if name in seen or name not in nodes:
                continue
            seen.add(name)
            node = nodes[name]
            if node.op in forbidden:
                raise VaePassiveError(
                    f"module {path} runs op {node.op} (node '{name}') from its {what}; disentanglement_lib "
                    f"modules touch checkpoint files only in their saver; refusing to load it. {TRUST}"
                )
            stack.extend(_node_name(source) for source in node.input)


def check_module_graph(module_path: str | Path) -> SavedModel:
    """Parse ``<module_path>/saved_model.pb``, refuse what no disentanglement_lib module holds, return it.

    Raises ``VaePassiveError`` naming the module, the op and its node. The returned
    ``SavedModel`` proto is the caller's to read or change.
    """
    tensorflow()
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    path = Path(module_path)
    pb = path / "saved_model.pb"
    size, limit = pb.stat().st_size, max_graph_bytes()
    if size > limit:
        raise VaePassiveError(
            f"module {path}: saved_model.pb has {size} bytes, above the limit of {limit} ({MAX_GRAPH_BYTES_ENV}); "
            f"disentanglement_lib graphs are under 2 MB and keep their weights in the checkpoint. {TRUST}"
        )
    proto = saved_model_pb2.SavedModel()
    try:
        proto.ParseFromString(pb.read_bytes())
    except DecodeError:
        raise VaePassiveError(f"cannot load module {path}: saved_model.pb is not a SavedModel protobuf") from None
    const_limit = max_const_bytes()
    for meta_graph in proto.meta_graphs:
        if meta_graph.HasField("object_graph_def"):
            raise VaePassiveError(
                f"module {path} is a TF2 SavedModel (it has an object graph), not a TF1 Hub module of "
                f"disentanglement_lib; refusing to load it. {TRUST}"
            )
        graph = meta_graph.graph_def
        for function in graph.library.function:  # first, to name the op rather than the call
            _check_nodes(path, function.node_def, f" (function '{function.signature.name}')", const_limit)
        _check_nodes(path, graph.node, "", const_limit)
        nodes = {node.name: node for node in graph.node}
        try:
            _check_reach(path, nodes, _run_roots(meta_graph), CHECKPOINT_IO_OPS)
        except DecodeError:
            raise VaePassiveError(f"cannot load module {path}: a local variable is not a VariableDef") from None
        if meta_graph.HasField("saver_def"):
            restore = [("saver's restore op", meta_graph.saver_def.restore_op_name)]
            _check_reach(path, nodes, restore, CHECKPOINT_IO_OPS - RESTORE_OPS)
    return proto
