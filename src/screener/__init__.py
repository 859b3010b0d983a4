"""screener: the screening half of a systematic review, from search to PRISMA diagram."""

# The one place the version is written (pyproject.toml reads it): every decision line records
# it, and looking it up in the installed metadata cost 0.2 s on every command's start.
__version__ = "0.2.0"
