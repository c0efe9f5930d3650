"""Per-object measurements (size, shape, position, intensity, distance to other structures),
per-class summaries and the CSV files that hold them."""
