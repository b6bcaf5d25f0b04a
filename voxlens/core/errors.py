"""Typed errors whose messages say what to do."""


class VoxlensError(Exception):
    """Base class: the CLI prints these without a traceback and exits with code 2."""


class StoreError(VoxlensError):
    """The store cannot be opened, is locked, or is of an unknown schema version."""


class InputError(VoxlensError):
    """An input file cannot be read as a whole (unreadable, wrong format, no usable column)."""


class ModelError(VoxlensError):
    """A model cannot be loaded or does not fit the task."""


class SourceError(VoxlensError):
    """A remote source failed (network, HTTP status, malformed answer) after every retry."""


class ConfigError(VoxlensError):
    """The configuration file is missing, unreadable or names an unknown source or option."""
