"""Crowd labels in the GUI: the import dialog (with a preview of the subject mapping) and the
reliability panel (volunteer scores, histogram, exclude-below-score re-aggregation). Both are
standalone widgets that hand back job specs; the main window docks them and runs the specs."""
