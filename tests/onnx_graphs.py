"""Small hand-built ONNX graphs for tests that need a model file without torch or training."""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def linear_relu(path, input_dim, output_dim, seed=0):
    """y = relu(x @ w) with a seeded w, saved at `path`; returns w."""
    weight = np.random.default_rng(seed).normal(size=(input_dim, output_dim)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["y"])],
        "linear_relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", input_dim])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", output_dim])],
        initializer=[numpy_helper.from_array(weight, "w")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return weight
