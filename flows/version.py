"""The installed warcflow version, for warcinfo records and `--version`."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def software_version() -> str:
    try:
        return version("warcflow")
    except PackageNotFoundError:
        return "0+unknown"
