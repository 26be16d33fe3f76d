"""Errors the store raises (no boto3 here, so the API layer can catch them cheaply)."""


class StoreError(RuntimeError):
    """A store call failed after the client's retries (API code 1)."""
