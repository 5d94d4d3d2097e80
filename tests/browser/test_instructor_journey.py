"""An instructor's class, in a real browser: create it, import a roster, assign a deck, watch
two students' cells change as they study, export the heatmap."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import INSTRUCTOR_EMAIL, INSTRUCTOR_PASSWORD
from tests.browser.test_student_journey import _axe_problems, _shots

ROSTER = (
    "sourcedId,givenName,familyName,email,role\n"
    "st-1,Avery,Lopez,avery@school.edu,student\n"
    "st-2,Blake,Kim,blake@school.edu,student\n"
)
STUDENT_PASSWORD = "student-password-2026"


def _row_cells(page: Page, name: str) -> list[str]:
    row = page.locator("table.heatmap tbody tr", has=page.get_by_role("link", name=name))
    return row.locator("td.cell").all_inner_texts()


def _study(page: Page, base: str, answers: int) -> None:
    page.goto(f"{base}/study")
    for answered in range(answers):
        if page.locator("form.question").get_attribute("data-question") == "mcq":
            page.keyboard.press("a" if answered % 3 else "b")
        else:
            page.keyboard.press("Space")
            page.keyboard.press("3")
        page.wait_for_url(re.compile(r"/study/feedback/"))
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/study$"))


@pytest.mark.slow
def test_class_roster_assignment_dashboard_and_export(
    browser: Browser, live_server: str, artifacts: Path, tmp_path: Path
) -> None:
    teacher = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = teacher.new_page()
    page.goto(f"{live_server}/login")
    page.locator("#email").fill(INSTRUCTOR_EMAIL)
    page.locator("#password").fill(INSTRUCTOR_PASSWORD)
    page.locator("#password").press("Enter")
    page.wait_for_url(re.compile(r"/classes$"))
    page.locator("#name").fill("Auto Tech 2, period 3")
    page.locator("#test-A6").check()
    page.get_by_role("button", name="Create class").click()
    page.wait_for_url(re.compile(r"/classes/\d+$"))
    class_url = page.url
    assert "No students yet" in page.content()

    page.get_by_role("link", name="Import roster").click()
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text(ROSTER, encoding="utf-8")
    page.locator("#roster").set_input_files(str(roster_file))
    page.get_by_role("button", name="Import").click()
    assert "2 new accounts" in page.content()
    invites = page.locator("table.invites code").all_inner_texts()
    assert len(invites) == 2
    assert _axe_problems(page) == []

    page.goto(f"{class_url}/assignments")
    deck = page.locator("#deck option", has_text="A6.E Body Electrical Systems").first
    page.locator("#deck").select_option(deck.get_attribute("value"))
    page.get_by_role("button", name="Assign").click()
    page.wait_for_url(class_url)
    before = {name: _row_cells(page, name) for name in ("Avery Lopez", "Blake Kim")}
    assert before["Avery Lopez"] == before["Blake Kim"], "no evidence yet: both at the prior"

    for invite, answers in zip(invites, (8, 4), strict=True):
        student = browser.new_context(viewport={"width": 375, "height": 800})
        tab = student.new_page()
        tab.goto(invite)
        tab.locator("#password").fill(STUDENT_PASSWORD)
        tab.locator("#confirm").fill(STUDENT_PASSWORD)
        tab.locator("#confirm").press("Enter")
        tab.wait_for_url(re.compile(r"/plan$"))
        tab.locator("#goal_A6").check()
        tab.locator("#daily_goal_minutes").press("Enter")
        tab.wait_for_url(re.compile(r"/placement$"))
        tab.goto(f"{live_server}/")
        assert "A6.E Body Electrical Systems" in tab.content(), "the assignment is on the home page"
        _study(tab, live_server, answers)
        student.close()

    page.reload()
    after = {name: _row_cells(page, name) for name in ("Avery Lopez", "Blake Kim")}
    assert after["Avery Lopez"] != before["Avery Lopez"]
    assert after["Blake Kim"] != before["Blake Kim"]
    assert _axe_problems(page) == []
    _shots(page, artifacts, "class-dashboard")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="heatmap CSV").click()
    download = download_info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with saved.open(encoding="utf-8") as exported:
        rows = list(csv.reader(exported))
    assert rows[0][:3] == ["student", "email", "A6.A mastery now"]
    assert {row[1] for row in rows[1:]} == {"avery@school.edu", "blake@school.edu"}
    teacher.close()
