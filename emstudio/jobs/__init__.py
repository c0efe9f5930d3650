"""Job specs, the runner that executes one spec, and JSON-lines progress events."""
