"""Handwritten-cell recognisers: entry numbers (CTC) and birth dates (day/month/year heads).

Inference runs on onnxruntime only (``ingest.htr.runtime``); training needs the ``train``
extra (PyTorch, CPU build) and lives in ``ingest.htr.train``. Image preparation is shared
by both (``ingest.htr.images``) so a model sees the same pixels in training and in use.
"""
