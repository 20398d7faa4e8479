"""Take the screenshots of the app shown in the README and docs/app.md (docs/img/).

    uv run python scripts/app_screenshot.py [OUT_DIR]

Starts `webmodel app` offline, drives it in Debian's Chromium to a telling moment (the surge,
the hub's assembly down, then Korea cut off), and saves palette PNGs small enough to commit, at
a laptop's 1440x900 (app.png: the cards and networks; app-charts.png: the charts, scrolled) and
at 1024x768 (app-1024.png).
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

OUT = Path(__file__).resolve().parent.parent / "docs" / "img"


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
        page = browser.new_page(viewport={"width": 1440, "height": 900})
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
        page.get_by_text("KOR cut off").first.wait_for()
        for week in range(22, 27):
            click("Step", week)
        click("dismiss")
        page.wait_for_timeout(1500)  # the charts draw in the browser
        shots = {"app.png": page.screenshot()}
        page.locator(".webmodel-chart-performance").scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        shots["app-charts.png"] = page.screenshot()
        page.set_viewport_size({"width": 1024, "height": 768})
        page.locator(".webmodel-card-0").scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        shots["app-1024.png"] = page.screenshot()
        browser.close()
    out.mkdir(parents=True, exist_ok=True)
    for name, shot in shots.items():
        image = PIL.Image.open(io.BytesIO(shot)).convert("RGB")
        image = image.quantize(colors=256, method=PIL.Image.Quantize.MEDIANCUT)
        image.save(out / name, optimize=True)
        print(f"{out / name}: {(out / name).stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
