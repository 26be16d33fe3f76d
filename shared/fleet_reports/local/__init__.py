"""The local stack (no Docker): moto's server, a loopback gateway and an SQS poller."""
