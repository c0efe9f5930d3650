"""Deep learning on vEM volumes: a 2.5D U-Net, sparse-label training, tiled tri-axis prediction.

Torch-free modules (importable by the GUI): ``presets`` (sizes, defaults, time estimates),
``errors``, ``labels``, ``geometry``, ``card``. Everything else imports torch.
"""
