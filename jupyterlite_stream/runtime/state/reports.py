"""What export, inspect and import return: plain records plus a one-line
summary; `to_dict()` gives JSON-able data for the browser UI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


def _skips(skipped: list[dict]) -> str:
    if not skipped:
        return ""
    reasons = "; ".join(f"{s['name']}: {s['reason']}" for s in skipped[:10])
    more = f"; and {len(skipped) - 10} more" if len(skipped) > 10 else ""
    return f" ({reasons}{more})"


@dataclass
class ExportReport:
    #: where the file was written, or None when `data` holds it
    path: str | None
    #: the zip's bytes when no path was given
    data: bytes | None = field(repr=False)
    size: int
    variables: list[dict]  # manifest records: name, type, storage, size, preview...
    files: list[dict]  # root, path, size, sha256
    packages: list[dict]  # name, version
    skipped: list[dict]  # name, kind ("variable" | "file"), reason
    signed: bool

    def summary(self) -> str:
        where = self.path or "memory"
        return (
            f"saved {len(self.variables)} variables and {len(self.files)} files "
            f"to {where} ({self.size} bytes); skipped {len(self.skipped)}{_skips(self.skipped)}"
        )

    def to_dict(self) -> dict:
        result = asdict(self)
        result.pop("data")
        return result

    __str__ = summary


@dataclass
class Preview:
    format_version: int
    created: str
    python: str
    pyodide: str | None
    variables: list[dict]
    files: list[dict]
    packages: list[dict]
    skipped: list[dict]  # what the export could not save
    #: some variables are "pickle-code": restoring them runs code (trust)
    needs_code: bool
    signed: bool  # the file carries a signature
    trusted: bool  # ... that verifies with the key given
    size: int
    #: names of the variables that run code when loaded (functions, classes,
    #: objects of cell-defined classes, module imports): loaded only with trust
    needs_trust: list[str] = field(default_factory=list)

    def summary(self) -> str:
        code = (
            f", {len(self.needs_trust)} need trust (they run code: "
            f"{', '.join(self.needs_trust[:10])})"
            if self.needs_code
            else ""
        )
        return (
            f"state of {self.created}: {len(self.variables)} variables{code}, "
            f"{len(self.files)} files, {len(self.packages)} packages; "
            f"Python {self.python.split()[0]}"
            + (f", Pyodide {self.pyodide}" if self.pyodide else "")
        )

    def to_dict(self) -> dict:
        return asdict(self)

    __str__ = summary


@dataclass
class ImportReport:
    restored: list[str]  # variable names
    files: list[str]  # paths written
    skipped: list[dict]  # name, kind ("variable" | "file" | "package"), reason
    trusted: bool
    packages_missing: list[str]  # recorded but not installed here
    packages_installed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"restored {len(self.restored)} variables and {len(self.files)} files, "
            f"skipped {len(self.skipped)}{_skips(self.skipped)}"
        )
        if self.packages_missing:
            text += f"; packages not installed: {', '.join(self.packages_missing)}"
        return text

    def to_dict(self) -> dict:
        return asdict(self)

    __str__ = summary
