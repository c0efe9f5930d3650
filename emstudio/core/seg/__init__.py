"""Semantic to instance segmentation: area + boundary watershed, presets, blockwise stitching,
ground-truth-derived maps and the Qt-free proofreading operations."""
