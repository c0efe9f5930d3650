"""Stand-alone dialogs that build job specs (train, predict) or show a model card."""
