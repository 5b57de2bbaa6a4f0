"""The workflows baton ships: ``build``, ``season`` and the ``demo`` of the engine."""
