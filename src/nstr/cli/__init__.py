"""The ``nstr`` command: ``main`` and one module per subcommand, thin layers over the library."""
