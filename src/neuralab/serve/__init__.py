"""Serving a trained run over HTTP: FastAPI app, safe input decoding, micro-batching, monitoring, export.

`serve` reads a run folder (safetensors + model.json) and never imports the training code.
"""
