"""int8 quantization of an exported ONNX file, in place (used by
:func:`skdeep.export_onnx`)."""

import logging
import os

import numpy as np

from skdeep.deploy.onnx_runtime import require

__all__ = ["quantize_int8", "quantize_int8_weights"]


def quantize_int8(path):
    """Dynamic int8 quantization (onnxruntime.quantization), in place.

    Weights are stored as uint8 (U8U8: uint8 activations times uint8
    weights), not onnxruntime's default int8 (U8S8). On x86 CPUs without
    AVX-512 VNNI (AVX2 only: many AMD EPYC, older Intel) onnxruntime's U8S8
    kernels add pairs of products in 16 bits (``vpmaddubsw``), which
    saturates: the same file predicted some rows 8% away from float32 there
    and not on VNNI CPUs. U8U8 kernels widen to 16 bits first and never
    saturate, so a file gives the same predictions on every x86-64 CPU.
    Measured (README "Deploying"): as accurate as U8S8 on VNNI CPUs, same
    size, about 20% slower on 1,000 rows than U8S8 there; ``reduce_range``
    (7-bit int8 weights) also avoids saturation but was less accurate.
    """
    import onnx

    quantization = require("onnxruntime.quantization")
    original = onnx.load(path)
    out = path + ".int8"
    # onnxruntime suggests its pre-processing (quant_pre_process) on the root
    # logger; tried: its shape inference stops at the preprocessing's
    # ai.onnx.ml nodes all the same, which DefaultTensorType below covers
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        # ai.onnx.ml nodes (imputers, encoders) stop ONNX's shape inference:
        # the network's tensors are float32, say so. QUInt8 weights: U8U8
        # kernels, which do not saturate on CPUs without VNNI (see above)
        quantization.quantize_dynamic(
            path, out, weight_type=quantization.QuantType.QUInt8,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        quantized = onnx.load(out)
    finally:
        logging.disable(previous)
        if os.path.exists(out):
            os.remove(out)
    del quantized.metadata_props[:]
    quantized.metadata_props.extend(original.metadata_props)
    quantized.producer_name = original.producer_name
    with open(path, "wb") as fh:
        fh.write(quantized.SerializeToString())


def quantize_int8_weights(path):
    """Weight-only int8: each float32 weight of a MatMul / Conv becomes int8
    plus one float32 scale per output channel, dequantized by a standard
    ``DequantizeLinear`` node; activations stay float32.

    Written with onnx.helper because onnxruntime's weight-only quantizer
    (``MatMulNBitsQuantizer``) needs the extra package onnx-ir and emits a
    Microsoft-only ``MatMulNBits`` op, and ``quantize_dynamic`` always
    quantizes activations too (a larger error, see README "Deploying").
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(path)
    graph = model.graph
    users = {}
    for node in graph.node:
        for position, name in enumerate(node.input):
            users.setdefault(name, []).append((node.op_type, position))
    dequantize = []
    for init in list(graph.initializer):
        uses = users.get(init.name, [])
        # only the weight input (position 1) of MatMul / Conv, nothing else
        if not uses or any(use not in (("MatMul", 1), ("Conv", 1)) for use in uses):
            continue
        if len({op for op, _ in uses}) != 1:
            continue
        weights = numpy_helper.to_array(init)
        if weights.dtype != np.float32 or weights.ndim < 2 or weights.size < 16:
            continue
        # output channels: MatMul B is (in, out); Conv W is (out, in, kh, kw)
        axis = 1 if uses[0][0] == "MatMul" else 0
        reduce = tuple(i for i in range(weights.ndim) if i != axis)
        scale = np.abs(weights).max(axis=reduce) / 127.0
        scale[scale == 0] = 1.0
        shape = [1] * weights.ndim
        shape[axis] = -1
        quantized = np.clip(np.round(weights / scale.reshape(shape)), -127, 127)
        graph.initializer.remove(init)
        graph.initializer.extend([
            numpy_helper.from_array(quantized.astype(np.int8), f"{init.name}_int8"),
            numpy_helper.from_array(scale.astype(np.float32), f"{init.name}_scale"),
        ])
        dequantize.append(helper.make_node(
            "DequantizeLinear", [f"{init.name}_int8", f"{init.name}_scale"],
            [init.name], axis=axis, name=f"{init.name}_dequantize"))
    for node in reversed(dequantize):
        graph.node.insert(0, node)
    onnx.checker.check_model(model)
    with open(path, "wb") as fh:
        fh.write(model.SerializeToString())
