"""The ``digitnet`` command: its arguments (arguments), what each command does (commands), the
training progress bar (progress)."""
