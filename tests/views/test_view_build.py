"""The shipped views are built from views/ as they are now, self-contained, under a strict CSP.

Rebuild after changing anything in views/ with: npm --prefix views ci && npm --prefix views run build
(the hash below is build.mjs's sourceHash: mtimes say nothing in a fresh clone).
"""

from __future__ import annotations

import base64
import hashlib
import re
import tomllib
from pathlib import Path

import pytest

from edfs_mcp.views import VIEW_FILES, view_html

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ROOT / "views"
SOURCES = ["build.mjs", "package.json", "package-lock.json", "src", "test-host"]
BUILT = [ROOT / "edfs_mcp" / "views" / name for name in VIEW_FILES.values()] + [
    ROOT / "tests" / "views" / "host.html"
]
REBUILD = "run `npm --prefix views ci && npm --prefix views run build` and commit the HTML"


def source_hash() -> str:
    """build.mjs's sourceHash(): SHA-256 over each source's path (from views/), NUL, bytes, NUL."""
    files = sorted(
        path.relative_to(VIEWS).as_posix()
        for name in SOURCES
        for path in ([VIEWS / name] if (VIEWS / name).is_file() else (VIEWS / name).rglob("*"))
        if path.is_file()
    )
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.encode() + b"\0" + (VIEWS / file).read_bytes() + b"\0")
    return digest.hexdigest()


@pytest.mark.parametrize("built", BUILT, ids=lambda path: path.name)
def test_the_built_file_is_from_the_sources_as_they_are(built: Path) -> None:
    found = re.search(r'<meta name="edfs-mcp-views-source" content="([0-9a-f]{64})">', built.read_text())
    assert found, f"{built.name} has no source hash: {REBUILD}"
    assert found.group(1) == source_hash(), f"{built.name} is stale: {REBUILD}"


def _inline(html: str, tag: str) -> list[str]:
    return re.findall(rf"<{tag}>(.*?)</{tag}>", html, re.DOTALL)


@pytest.mark.parametrize("uri", VIEW_FILES)
def test_a_view_is_one_self_contained_file_under_a_strict_csp(uri: str) -> None:
    html = view_html(uri)
    (script,) = _inline(html, "script")
    (style,) = _inline(html, "style")
    # Nothing loaded from anywhere: no external script, style, frame, image or link.
    assert not re.search(r"<(script|link|iframe|img|object|embed)\b[^>]*\b(src|href)=", html, re.I)
    assert html.count("<script") == 1 and "import(" not in script
    (policy,) = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))

    def sha(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert directives["default-src"] == "'none'" and directives["connect-src"] == "'none'"
    assert directives["script-src"] == sha(script) and directives["style-src"] == sha(style)
    assert directives["base-uri"] == "'none'" and directives["form-action"] == "'none'"
    assert "unsafe" not in policy and "http" not in policy
    # The views write untrusted text as text: innerHTML, outerHTML, insertAdjacentHTML, document.write
    # appear in our sources nowhere (the bundled SDK code is not ours to grep).
    for source in (VIEWS / "src").glob("*.ts"):
        code = source.read_text()
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", code), (
            source.name
        )


def test_the_views_ship_in_the_package_and_use_ext_apps() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "views/*.html" in pyproject["tool"]["setuptools"]["package-data"]["edfs_mcp"]
    package = (VIEWS / "package.json").read_text()
    assert '"@modelcontextprotocol/ext-apps"' in package and '"build": "node build.mjs"' in package
    for name in ("result.ts", "timers.ts"):
        assert "connect(" in (VIEWS / "src" / name).read_text()
    assert "new App(" in (VIEWS / "src" / "common.ts").read_text()
