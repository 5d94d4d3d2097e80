"""A student's first day, in a real browser, with the keyboard only for studying."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

PASSWORD = "a-long-enough-password"
SERIOUS = {"serious", "critical"}


def _axe_problems(page: Page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]


def _shots(page: Page, artifacts: Path, name: str) -> None:
    """Screenshots at phone and desktop widths; at 375 px nothing may scroll sideways."""
    for width in (375, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=artifacts / f"{name}-{width}.png", full_page=True)
        if width == 375:
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= 375, f"{name} scrolls sideways at 375 px ({scroll_width} px)"
    page.set_viewport_size({"width": 1280, "height": 900})


def _predicted(page: Page) -> int:
    text = page.locator(".test-progress dl.stats dd").first.inner_text()
    return int(text.rstrip("%"))


@pytest.mark.slow
def test_sign_up_plan_study_with_the_keyboard_and_see_progress(
    browser: Browser, live_server: str, artifacts: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    accessibility: dict[str, list[str]] = {}

    page.goto(f"{live_server}/signup")
    accessibility["signup"] = _axe_problems(page)
    _shots(page, artifacts, "signup")
    page.locator("#display_name").fill("Jordan")
    page.locator("#email").fill("jordan@example.com")
    page.locator("#password").fill(PASSWORD)
    page.locator("#confirm").fill(PASSWORD)
    page.locator("#confirm").press("Enter")
    page.wait_for_url(re.compile(r"/plan$"))

    exam = (date.today() + timedelta(days=21)).isoformat()
    page.locator("#goal_A6").check()
    page.locator("#exam_A6").fill(exam)
    page.locator("#daily_goal_minutes").fill("20")
    page.locator("#daily_goal_minutes").press("Enter")
    page.wait_for_url(re.compile(r"/placement$"))
    page.goto(f"{live_server}/progress")
    before = _predicted(page)
    assert page.get_by_text("Not started").count() == 5

    page.goto(f"{live_server}/study")
    accessibility["study"] = _axe_problems(page)
    _shots(page, artifacts, "study")
    assert "exam in 21 days" in page.locator(".reason").inner_text()
    for answered in range(10):
        question = page.locator("form.question")
        if question.get_attribute("data-question") == "mcq":
            page.keyboard.press("b" if answered % 2 else "a")
        else:
            page.keyboard.press("Space")
            assert page.locator(".back").is_visible()
            if answered == 0:
                accessibility["flashcard"] = _axe_problems(page)
            page.keyboard.press("3")
        page.wait_for_url(re.compile(r"/study/feedback/"))
        if answered == 0:
            accessibility["feedback"] = _axe_problems(page)
            _shots(page, artifacts, "feedback")
            # The back button returns to the study page, which serves the next question.
            page.go_back()
            page.wait_for_url(re.compile(r"/study$"))
            assert page.locator("form.question").count() == 1
            page.go_forward()
            page.wait_for_url(re.compile(r"/study/feedback/"))
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/study$"))
    assert "10 items today" in page.locator(".session-bar").inner_text()

    page.goto(f"{live_server}/progress")
    accessibility["progress"] = _axe_problems(page)
    _shots(page, artifacts, "progress")
    after = _predicted(page)
    assert after != before, "studying ten items moves the readiness estimate"
    assert page.get_by_text("Not started").count() < 5
    assert "Chance of passing (estimate)" in page.content()

    page.goto(f"{live_server}/study/summary")
    assert "10" in page.locator("dl.stats").inner_text()
    _shots(page, artifacts, "summary")
    context.close()
    assert {name: found for name, found in accessibility.items() if found} == {}


def test_the_accessibility_scan_finds_a_known_problem(browser: Browser) -> None:
    """Control: the same scan flags a page built to fail (an image without alt text)."""
    page = browser.new_page()
    page.set_content('<html lang="en"><body><img src="data:,x"><button></button></body></html>')
    problems = _axe_problems(page)
    page.close()
    assert any(problem.startswith("image-alt") for problem in problems)
    assert any(problem.startswith("button-name") for problem in problems)
