"""Take the screenshot of the app shown in the README and docs/app.md (docs/img/app.png).

    uv run python scripts/app_screenshot.py [OUT.png]

Starts `webmodel app` offline, drives it in Debian's Chromium to a telling moment (the surge,
the hub's assembly down, then Korea cut off), and saves a palette PNG small enough to commit.
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

import PIL.Image
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from app_server import CHROMIUM_FLAGS, chromium_path, running_app

OUT = Path(__file__).resolve().parent.parent / "docs" / "img" / "app.png"


def main(out: Path = OUT) -> None:
    chromium = chromium_path()
    if chromium is None:
        sys.exit("Chromium not found: run scripts/setup-browser.sh")
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_app(Path(tmp) / "server.log") as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=list(CHROMIUM_FLAGS)
        )
        page = browser.new_page(viewport={"width": 1500, "height": 1150})
        page.set_default_timeout(60_000)
        page.goto(url)
        page.get_by_text("week 0 of 104").wait_for(timeout=90_000)

        def click(label: str, week: int | None = None) -> None:
            page.get_by_role("button", name=label, exact=True).click()
            if week is not None:
                page.get_by_text(f"week {week} of 104").wait_for()

        click("+10 weeks", 10)
        click("Step", 11)
        click("Hub assembly (USA)")
        page.get_by_text("scheduled in both models").wait_for()
        click("+10 weeks", 21)
        click("Cut off state")  # the default choice, KOR
        page.get_by_text("state:KOR").first.wait_for()
        for week in range(22, 27):
            click("Step", week)
        click("dismiss")
        page.wait_for_timeout(500)
        shot = page.screenshot(full_page=True)
        browser.close()
    image = PIL.Image.open(io.BytesIO(shot)).convert("RGB")
    image = image.quantize(colors=128, method=PIL.Image.Quantize.MEDIANCUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, optimize=True)
    print(f"{out}: {out.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
