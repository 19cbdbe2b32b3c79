"""Bundle the demo's CJK font: the parts of Noto Sans SC (SIL OFL 1.1) its Chinese text needs.

A fresh machine may have no CJK font, and the demo runs offline, so the page brings its own:
Fontsource's ``@fontsource/noto-sans-sc`` splits the font (weight 400) into files by Unicode range;
this copies the files that cover every CJK character of the demo's text (``govsim/viz/*.py``)
plus the ranges of the most common characters (so a lecturer's own Chinese text mostly renders
too), writes a stylesheet with their ``unicode-range`` rules, and copies the licence.
A browser loads only the files a page's text needs.

Run it when the demo's Chinese text gains characters outside the bundle (a test says so):

    npm pack @fontsource/noto-sans-sc@5.3.0
    python scripts/bundle_cjk_font.py fontsource-noto-sans-sc-5.3.0.tgz
"""

from __future__ import annotations

import re
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "govsim" / "public" / "noto-sans-sc"
COMMON = range(100, 120)
"""Fontsource's chunks 100-119 hold the most frequent simplified characters."""
BLOCK = re.compile(
    r"@font-face \{[^}]*?noto-sans-sc-(\d+)-400-normal\.woff2[^}]*?unicode-range: ([^;]+);[^}]*\}",
    re.S,
)


def demo_text_chars() -> set[str]:
    """Every CJK character in the demo's source (its interface and lesson text)."""
    text = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "govsim" / "viz").glob("*.py"))
    return {c for c in text if ord(c) >= 0x2E80}


def ranges(unicode_range: str) -> list[tuple[int, int]]:
    """``U+4e00-4e05,U+4e10`` as inclusive code-point ranges."""
    out = []
    for part in unicode_range.split(","):
        lo, _, hi = part.strip()[2:].partition("-")
        out.append((int(lo, 16), int(hi or lo, 16)))
    return out


def main(tgz: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(tgz) as tar:
            tar.extractall(tmp, filter="data")
        pkg = Path(tmp) / "package"
        css = (pkg / "400.css").read_text(encoding="utf-8")
        blocks = {
            int(n): (m.group(0), ranges(r)) for m in BLOCK.finditer(css) for n, r in [m.groups()]
        }
        chosen = set(COMMON)
        missing = []
        for c in sorted(demo_text_chars()):
            hits = [n for n, (_, rs) in blocks.items() if any(a <= ord(c) <= b for a, b in rs)]
            if hits:
                chosen.add(hits[0])
            else:
                missing.append(c)
        if OUT.exists():
            shutil.rmtree(OUT)
        OUT.mkdir(parents=True)
        rules = []
        for n in sorted(chosen):
            name = f"noto-sans-sc-{n}-400-normal.woff2"
            shutil.copyfile(pkg / "files" / name, OUT / name)
            rule = blocks[n][0].replace(f"./files/{name}", f"./{name}")
            rule = re.sub(r", url\(\./files/[^)]*\.woff\) format\('woff'\)", "", rule)
            rules.append(rule)
        shutil.copyfile(pkg / "LICENSE", OUT / "LICENSE")
        header = (
            "/* Noto Sans SC, weight 400, SIL Open Font License 1.1 (LICENSE), from Fontsource's\n"
            "   @fontsource/noto-sans-sc; the parts the govsim demo needs, written by\n"
            "   scripts/bundle_cjk_font.py. */\n"
        )
        (OUT / "noto-sans-sc.css").write_text(header + "\n".join(rules) + "\n", encoding="utf-8")
    size = sum(p.stat().st_size for p in OUT.glob("*.woff2"))
    print(f"{len(chosen)} files, {size / 1024:.0f} KiB in {OUT.relative_to(ROOT)}")
    if missing:
        print(f"not in Noto Sans SC: {''.join(missing)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
