"""The results of a project in the workspace: the 3D view and the measurements table."""
