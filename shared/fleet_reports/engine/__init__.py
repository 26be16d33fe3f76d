"""The engine: fixes in, report documents out. Pure numpy; never imports boto3."""
