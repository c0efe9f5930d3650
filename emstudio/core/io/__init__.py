"""Readers and writers of EM volume formats (TIFF/OME-TIFF, slice folders, MRC, HDF5, Zarr/N5)."""
