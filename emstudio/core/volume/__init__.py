"""Chunked multiscale volumes (OME-Zarr), pyramids, slicing along any axis."""
