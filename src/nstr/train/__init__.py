"""Training: the one fit loop (``fit``, ``resume``) and run directories (``Run``, ``load``)."""
