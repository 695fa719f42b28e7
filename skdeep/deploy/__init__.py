"""Deployment: what leaves the Python process that trained a model.

- ``persistence``: ``save`` / ``load`` (metadata, integrity check, atomic
  writes) and the network alone in Keras's formats;
- ``export``: ``export_onnx`` (one ONNX graph for a fitted estimator or
  pipeline) and ``export_network``; ``onnx_convert`` holds the converters;
- ``onnx_runtime``: running an exported file with onnxruntime alone;
- ``onnx_quantize``: int8 quantization of an exported file.

Import the submodules you need: ``skdeep.deploy`` itself imports nothing heavy.
"""
