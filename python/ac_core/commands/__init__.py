"""Sub-commands of the ``ac-core`` CLI, one module each."""
