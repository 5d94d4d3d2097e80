"""Reading a class roster from a CSV file with OneRoster-style columns. Pure.

Columns (any order, header names case-insensitive, extra columns ignored): ``sourcedId``,
``givenName``, ``familyName``, ``email``, ``role``. A file is accepted whole or not at all:
:func:`parse_roster` returns every bad row with its line number, and the service imports
nothing unless the list is empty.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

__all__ = ["MAX_ROWS", "ROLES", "RosterProblem", "RosterRow", "parse_roster"]

HEADERS = ("sourcedId", "givenName", "familyName", "email", "role")
COLUMNS = tuple(header.lower() for header in HEADERS)
ROLES = {"student": "student", "teacher": "instructor"}
MAX_ROWS = 2000
MAX_BYTES = 2_000_000
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class RosterRow:
    line: int
    sourced_id: str
    given_name: str
    family_name: str
    email: str
    role: str  # "student" or "instructor"

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True)
class RosterProblem:
    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.field}" if self.field else "")
        return f"{where}: {self.message}"


def _decode(data: bytes) -> tuple[str | None, RosterProblem | None]:
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return None, RosterProblem(
            line, None, "the file is not UTF-8 text; save it as CSV UTF-8 and try again"
        )


def parse_roster(data: bytes) -> tuple[list[RosterRow], list[RosterProblem]]:
    """Parse and check a roster. Rows are returned only when there are no problems."""
    if len(data) > MAX_BYTES:
        return [], [RosterProblem(1, None, f"the file is larger than {MAX_BYTES // 1_000_000} MB")]
    text, problem = _decode(data)
    if text is None:
        return [], [problem] if problem else []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return [], [RosterProblem(1, None, "the file is empty")]
    except csv.Error as error:
        return [], [RosterProblem(1, None, f"not a CSV file: {error}")]
    names = [name.strip().lower() for name in header]
    missing = [header for header in HEADERS if header.lower() not in names]
    if missing:
        wanted = ", ".join(HEADERS)
        return [], [
            RosterProblem(
                1, None, f"the header needs the columns {wanted}; missing: " + ", ".join(missing)
            )
        ]
    position = {column: names.index(column) for column in COLUMNS}
    rows: list[RosterRow] = []
    problems: list[RosterProblem] = []
    seen_emails: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) + len(problems) >= MAX_ROWS:
                problems.append(RosterProblem(line, None, f"more than {MAX_ROWS} rows"))
                break

            def cell(column: str, record: list[str] = record) -> str:
                index = position[column]
                return record[index].strip() if index < len(record) else ""

            row_problems = []
            email = cell("email").lower()
            sourced_id = cell("sourcedid")
            role_text = cell("role").lower()
            if not email:
                row_problems.append(RosterProblem(line, "email", "missing email"))
            elif not EMAIL.match(email) or len(email) > 254:
                row_problems.append(
                    RosterProblem(line, "email", f"'{email}' is not an email address")
                )
            elif email in seen_emails:
                row_problems.append(
                    RosterProblem(
                        line, "email", f"{email} appears again (first on line {seen_emails[email]})"
                    )
                )
            if not sourced_id:
                row_problems.append(RosterProblem(line, "sourcedId", "missing sourcedId"))
            elif len(sourced_id) > 64:
                row_problems.append(
                    RosterProblem(line, "sourcedId", "sourcedId is longer than 64 characters")
                )
            elif sourced_id in seen_ids:
                row_problems.append(
                    RosterProblem(
                        line,
                        "sourcedId",
                        f"{sourced_id} appears again (first on line {seen_ids[sourced_id]})",
                    )
                )
            if role_text not in ROLES:
                row_problems.append(
                    RosterProblem(
                        line, "role", f"unknown role '{cell('role')}' (use student or teacher)"
                    )
                )
            given, family = cell("givenname"), cell("familyname")
            if not given:
                row_problems.append(RosterProblem(line, "givenName", "missing givenName"))
            if len(given) + len(family) > 99:
                row_problems.append(
                    RosterProblem(line, "givenName", "the name is longer than 99 characters")
                )
            if email and email not in seen_emails:
                seen_emails[email] = line
            if sourced_id and sourced_id not in seen_ids:
                seen_ids[sourced_id] = line
            if row_problems:
                problems += row_problems
            else:
                rows.append(RosterRow(line, sourced_id, given, family, email, ROLES[role_text]))
    except csv.Error as error:
        problems.append(RosterProblem(reader.line_num, None, f"CSV error: {error}"))
    if not rows and not problems:
        problems.append(RosterProblem(2, None, "the file has a header but no rows"))
    return ([] if problems else rows), problems
