"""Exceptions that speechtl raises for problems a user can fix.

Every message names the file or value at fault and what is wrong with it, so the
CLI can print it as a one-line reason instead of a traceback.
"""


class SpeechtlError(Exception):
    """Base class: a problem with the user's input, files or setup."""


class AudioError(SpeechtlError):
    """An audio file is missing, unreadable, empty or otherwise unusable."""


class ManifestError(SpeechtlError):
    """A manifest line is malformed or points at unusable data."""


class AlphabetError(SpeechtlError):
    """A transcript holds characters the model's alphabet cannot represent."""


class SettingError(SpeechtlError, ValueError):
    """A setting given to a library call is out of its range (also a ValueError)."""


class ModelLoadError(SpeechtlError):
    """A checkpoint could not be found, downloaded or understood."""
