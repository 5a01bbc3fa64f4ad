"""The mlotel package version (also the instrumentation scope version)."""

__version__ = "0.1.0"
