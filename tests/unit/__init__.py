"""Unit tests: the engine, renderers and service logic in-process, without AWS and without a network."""
