"""Errors about datasets: missing, corrupt, or not in the expected format."""


class DataError(RuntimeError):
    """A dataset is missing or damaged; the message says which file and what to run."""
