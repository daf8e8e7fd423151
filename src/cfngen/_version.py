"""The release of cfngen, in a module of its own so that any module may read it without importing the API."""

__version__ = "0.1.0"
