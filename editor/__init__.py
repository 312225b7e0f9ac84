"""A distributed, real-time collaborative text editor on Trio."""

__version__ = "0.1.0"
