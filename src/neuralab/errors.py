"""Errors that reach the user as a message and a hint, never as a traceback."""

from __future__ import annotations

from pathlib import Path


class NeuralabError(Exception):
    """Base class for every error neuralab raises on purpose."""


class UserError(NeuralabError):
    """Bad input from the user (config, files, arguments): the CLI prints it without a traceback."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


def require_file(path: Path, what: str = "file") -> None:
    """Refuse by name a path that is missing or a folder, before open() would raise a bare OSError."""
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder, not a file")
    if not path.is_file():
        raise UserError(f"{what} {path} does not exist")
