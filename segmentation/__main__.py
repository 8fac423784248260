"""``python -m segmentation``: the command line (see :mod:`segmentation.cli`)."""

from .cli import console

if __name__ == "__main__":
    console()
