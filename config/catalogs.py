"""Compile the translation catalogs (locale/<lang>/LC_MESSAGES/django.po → .mo) with Babel.

Django reads only compiled catalogs. Babel is already a dependency, so a fresh clone needs no GNU gettext:
`make run`, `make test`, the Docker image and the test suite's setup all call `compile_catalogs()`. A catalog
is rebuilt only when its .po is newer than its .mo, so calling it on every start costs next to nothing.

    python -m config.catalogs        # compile what changed; prints what it wrote
"""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def compile_catalogs(locale_dir: Path = LOCALE_DIR, *, force: bool = False) -> list[Path]:
    """Write each catalog's .mo next to its .po when missing or stale; returns the files written."""
    written = []
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/django.po")):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name, abort_invalid=True)
        # Written to a temporary name and renamed, so a server reading catalogs never sees half a file.
        partial = mo_path.with_suffix(".mo.partial")
        with partial.open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=False)
        partial.replace(mo_path)
        written.append(mo_path)
    return written


if __name__ == "__main__":
    import sys

    for path in compile_catalogs(force="--force" in sys.argv[1:]):
        print(f"compiled {path.relative_to(LOCALE_DIR.parent)}")
