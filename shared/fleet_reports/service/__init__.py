"""Use cases: authentication, the report lifecycle, the worker's job, the demo fleet."""
