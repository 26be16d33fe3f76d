"""The functions through their real handlers, on moto, each with only its template environment."""
