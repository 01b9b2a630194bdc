"""The one way the browser tests get Chromium: Debian's /usr/bin/chromium driven by
Playwright (never a downloaded browser), and the admin console signed in as a demo user.
A missing browser or console build FAILS the test (a skip would let a CI run without
them look green)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from kefu.demo import Demo
from tests.conftest import PASSWORD, login_of

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "src" / "kefu" / "static" / "console"
WIDGET = ROOT / "src" / "kefu" / "static" / "chat"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
SIGN_IN = {"en": ("E-mail", "Password", "Sign in"), "zh-CN": ("邮箱", "密码", "登录")}
PRESENCE = {"en": "Presence", "zh-CN": "在线状态"}


def require(*, console: bool = False) -> None:
    if console and not (CONSOLE / "index.html").exists():
        pytest.fail(
            "the console is not built: run `make frontend` (or npm --prefix widgets/console run build)"
        )
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make system-deps` (apt-get install chromium)")


@asynccontextmanager
async def async_chromium(
    *, console: bool = False, extra_args: tuple[str, ...] = ()
) -> AsyncIterator[Browser]:
    require(console=console)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *extra_args])
        try:
            yield browser
        finally:
            await browser.close()


@contextmanager
def sync_chromium(*, console: bool = False) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    require(console=console)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


async def console_as(
    browser: Browser,
    url: str,
    demo: Demo,
    who: str,
    locale: str,
    path: str,
    *,
    timezone_id: str | None = None,
    init_script: str | None = None,
) -> Page:
    """A new browser context in `locale`, signed in to the console as the demo user
    `who`, on the console route `path`."""
    context = await browser.new_context(
        viewport={"width": 1440, "height": 1000}, locale=locale, timezone_id=timezone_id
    )
    # The language is the user's choice, remembered by the console; set it up front.
    await context.add_init_script(f"localStorage.setItem('kefu.locale', '{locale}')")
    if init_script:
        await context.add_init_script(init_script)
    page = await context.new_page()
    await page.goto(f"{url}/console/")
    email, password, submit = SIGN_IN[locale]
    await page.get_by_label(email).fill(login_of(demo, who))
    await page.get_by_label(password).fill(PASSWORD)
    await page.get_by_role("button", name=submit, exact=True).click()
    await page.get_by_role("combobox", name=PRESENCE[locale]).wait_for()
    await page.goto(f"{url}/console/#{path}")
    return page
