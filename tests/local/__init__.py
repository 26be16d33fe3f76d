"""The running local stack (`make run`), driven over loopback."""
