"""Meshes of labelled objects: marching cubes in nm, smoothing, decimation, export, mesh sets."""
