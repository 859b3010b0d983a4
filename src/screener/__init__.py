"""screener: the screening half of a systematic review, from search to PRISMA diagram."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("screener")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
