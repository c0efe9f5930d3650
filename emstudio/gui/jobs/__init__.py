"""The job panel: queued/running/finished jobs, live progress, logs, metric plots, cancel."""
