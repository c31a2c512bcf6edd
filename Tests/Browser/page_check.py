#!/usr/bin/env python3
"""Drives the web page of a running `projector serve` in headless Chromium (Playwright).

    page_check.py URL SCREENSHOT.png [CHROMIUM]

Types a query as a user would, waits for highlighted results and facets, pages, opens the
projections dashboard, and checks that indexed text never became markup or script (the demo
data holds HTML documents, and the test adds an event whose title is an <img onerror> probe).
With a URL ending in #token=TOKEN (a tenant token for the `notes` index, tenant acme), checks
instead that the page takes the token from the address, hides it, and shows only acme's notes.
Exits non-zero with a one-line reason on any failure; keeps the screenshots.
"""
import sys

from playwright.sync_api import sync_playwright


def main() -> int:
    url, shot = sys.argv[1], sys.argv[2]
    chromium = sys.argv[3] if len(sys.argv) > 3 else "/usr/bin/chromium"
    if "#token=" in url:
        return check_tenant_token(url, shot, chromium)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems, dialogs = [], []
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(url)
        page.wait_for_selector("#index option", state="attached")

        # A user types, letter by letter; results follow as they type.
        page.click("#q")
        page.keyboard.type("text editor", delay=60)
        # Results for the first letters ("t", "te") may be on screen before the last keystroke's
        # answer: wait for the answer to the whole query, whose marks are the typed words.
        page.wait_for_selector('.hit mark:text-matches("^(text|editor)", "i")', timeout=10_000)
        marks = [m.lower() for m in page.eval_on_selector_all(".hit mark", "els => els.map(e => e.textContent)")]
        if not any(m.startswith("text") or m.startswith("editor") for m in marks):
            return fail(f"no highlighted query words in the results: {marks[:10]}")
        summary = page.text_content("#summary") or ""
        if "result" not in summary:
            return fail(f"no result summary: {summary!r}")
        if not page.query_selector(".facets label"):
            return fail("no facets shown")
        page.screenshot(path=shot, full_page=True)

        # Paging.
        if not page.is_disabled("#next"):
            page.click("#next")
            # Selectors only: the page's CSP forbids the string evaluation wait_for_function uses.
            page.wait_for_selector("#page:has-text('Page 2')")

        # Hostile indexed text is shown as text, never run.
        page.fill("#q", "")
        page.keyboard.type("injectionprobe", delay=30)
        page.wait_for_selector("#hits .hit:has-text('injectionprobe')", timeout=10_000)
        text = page.text_content("#hits") or ""
        if "<img" not in text:
            return fail(f"the probe's markup should be visible as text: {text[:200]!r}")
        if page.query_selector("#hits img") or page.query_selector("#hits script"):
            return fail("indexed text became elements on the page")

        # The dashboard.
        page.click("#tab-projections")
        page.wait_for_selector("#rows tr .state", timeout=10_000)
        names = page.eval_on_selector_all("#rows tr td:first-child", "els => els.map(e => e.textContent)")
        if "packages" not in names:
            return fail(f"the dashboard lacks the packages index: {names}")
        page.screenshot(path=shot.replace(".png", "-projections.png"), full_page=True)
        browser.close()
    if dialogs:
        return fail(f"a dialog opened (script ran): {dialogs}")
    if problems:
        return fail("; ".join(problems))
    print(f"ok: typed a query, saw {len(marks)} highlights, paged, probe stayed text, dashboard lists {len(names)} projections")
    return 0


def check_tenant_token(url: str, shot: str, chromium: str) -> int:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems = []
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.goto(url)
        page.wait_for_selector("#index option", state="attached")
        if "token=" in page.url:
            return fail(f"the token stayed in the address: {page.url}")
        names = page.eval_on_selector_all("#index option", "els => els.map(e => e.value)")
        if names != ["notes"]:
            return fail(f"the token should list only the index it may search: {names}")
        if page.is_visible("#tenant"):
            return fail("the tenant box is shown though the token names the tenant")
        page.click("#q")
        page.keyboard.type("plan", delay=40)
        page.wait_for_selector("#hits .hit", timeout=10_000)
        text = page.text_content("#hits") or ""
        summary = page.text_content("#summary") or ""
        page.screenshot(path=shot, full_page=True)
        browser.close()
    if "globex" in text.lower():
        return fail(f"another tenant's note is shown: {text[:200]!r}")
    if "acme" not in text.lower() or not summary.startswith("2 results"):
        return fail(f"the tenant's two notes should be shown: {summary!r} {text[:200]!r}")
    if problems:
        return fail("; ".join(problems))
    print(f"ok: the tenant token listed one index and showed only its tenant's notes ({summary})")
    return 0


def fail(reason: str) -> int:
    print(f"page check failed: {reason}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
