"""Pack the MCP Bundle (.mcpb): ``python manifests/mcpb/pack.py [--output PATH]``.

The bundle is a zip with ``manifest.json`` at its root (MCPB spec, manifest 0.4, server type
``uv``): the host runs ``uv run --directory <bundle> edfs-mcp serve``, and uv installs the
dependencies ``pyproject.toml`` lists for the user's platform. So the bundle holds only what
that needs: the manifest, ``pyproject.toml`` with the ``README.md`` and ``LICENSE`` it names, and
the ``edfs_mcp`` sources (no tests, bench, CI, caches or virtual environments).

The archive is reproducible: sorted entries, fixed timestamps and modes. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifests" / "mcpb" / "manifest.json"
PROJECT_FILES = ("pyproject.toml", "README.md", "LICENSE")
PACKAGE = "edfs_mcp"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: no build time leaks in


def bundle_files(root: Path = ROOT) -> dict[str, Path]:
    """Archive name → file on disk, for everything the bundled server needs."""
    files = {"manifest.json": root / "manifests" / "mcpb" / "manifest.json"}
    files.update({name: root / name for name in PROJECT_FILES})
    for path in sorted((root / PACKAGE).rglob("*.py")):
        relative = path.relative_to(root)
        if "__pycache__" not in relative.parts:
            files[relative.as_posix()] = path
    return files


def _version(root: Path) -> str:
    text = (root / PACKAGE / "_version.py").read_text()
    found = re.search(r"""__version__\s*=\s*["']([^"']+)["']""", text)
    if found is None:
        raise SystemExit(f"pack: no __version__ in {PACKAGE}/_version.py")
    return found[1]


def pack(output: Path, root: Path = ROOT) -> list[str]:
    """Write the bundle to ``output``; return its entry names."""
    manifest = json.loads((root / "manifests" / "mcpb" / "manifest.json").read_text())
    version = _version(root)
    if manifest.get("version") != version:
        raise SystemExit(
            f"pack: manifest.json says version {manifest.get('version')!r}, the package {version!r}"
        )
    files = bundle_files(root)
    missing = [name for name, path in files.items() if not path.is_file()]
    if missing:
        raise SystemExit(f"pack: missing {', '.join(missing)}")
    entry_point = manifest["server"]["entry_point"]
    if entry_point not in files:
        raise SystemExit(f"pack: the manifest's entry_point {entry_point} would not be in the bundle")
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(temporary, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name].read_bytes(), compresslevel=9)
    temporary.replace(output)
    return sorted(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python manifests/mcpb/pack.py", description=__doc__)
    parser.add_argument("--output", type=Path, help="the .mcpb to write (dist/edfs-mcp-<version>.mcpb)")
    args = parser.parse_args(argv)
    output = args.output or ROOT / "dist" / f"edfs-mcp-{_version(ROOT)}.mcpb"
    names = pack(output)
    print(f"{output}: {len(names)} files, {output.stat().st_size / 1024:.0f} kB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
