"""The only code that touches boto3: reports table, fleet table, tracks, files, queue."""
