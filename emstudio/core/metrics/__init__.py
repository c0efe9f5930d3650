"""Segmentation metrics: Dice/IoU, average and 95% Hausdorff distance, AP@50/75 (MitoEM-style),
precision/recall, VOI split/merge, adapted Rand error. Slab-streaming where the metric allows."""

KINDS = ("semantic", "instance")  # what ``evaluate`` compares: classes, or object instances
