"""The wire: request parsing, the envelope, error codes. Imports no heavy library."""
