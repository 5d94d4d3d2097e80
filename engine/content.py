"""Question banks and blueprints as data: parse, validate, summarise.

A bank is a tree of YAML files (``content/ase/<test>/<area>.yaml``), each holding one area's
items, with SVG figures beside them. Validation reports *every* problem with its file, line,
item id and field; nothing here touches a database. Bank-wide rules (coverage against the
blueprint, format mix, key balance, figures) come from a ``policy.yaml`` in the bank's folder
or one of its parents, so a single custom deck file is checked item by item only.
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ElementTree
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.blueprint import Blueprint, TestSpec, test_from_mapping
from engine.catalog import ItemInfo
from engine.scheduling import ItemKind

__all__ = [
    "Bank",
    "BankItem",
    "BankPolicy",
    "Problem",
    "bank_stats",
    "check_path",
    "format_stats",
    "load_bank",
    "read_blueprint",
]

LETTERS = ("A", "B", "C", "D")
FORMATS = ("direct", "completion", "tech_ab", "except", "least")
TECH_AB_CHOICES = ("A only", "B only", "Both A and B", "Neither A nor B")
BANNED_CHOICES = re.compile(r"\b(all|none) of (the above|these)\b", re.IGNORECASE)
MCQ_ID = re.compile(r"^(?P<test>[A-Z][0-9]{1,2})-(?P<area>[A-Z])-(?P<number>[0-9]{3})$")
FLASHCARD_ID = re.compile(r"^(?P<test>[A-Z][0-9]{1,2})-(?P<area>[A-Z])-F(?P<number>[0-9]{2,3})$")
MCQ_FIELDS = frozenset(
    {
        "id",
        "kind",
        "format",
        "scenario",
        "difficulty",
        "stem",
        "choices",
        "answer",
        "explanation",
        "rationales",
        "figure",
        "tags",
    }
)
FLASHCARD_FIELDS = frozenset({"id", "kind", "difficulty", "front", "back", "figure", "tags"})
MAX_BACK_WORDS = 45
MAX_TEXT_CHARS = 4000
MAX_FIGURE_BYTES = 100_000
SVG_NS = "{http://www.w3.org/2000/svg}"
POLICY_FILE = "policy.yaml"


@dataclass(frozen=True, order=True)
class Problem:
    """One validation problem, located as precisely as the input allows."""

    path: str
    line: int | None = None
    item_id: str | None = None
    field: str | None = None
    message: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        parts = [where]
        if self.item_id:
            parts.append(self.item_id)
        if self.field:
            parts.append(self.field)
        return ": ".join([*parts, self.message])

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "line": self.line,
            "item_id": self.item_id,
            "field": self.field,
            "message": self.message,
        }


@dataclass(frozen=True)
class BankItem:
    """A validated item: what the engine schedules plus the text a learner sees."""

    id: str
    test_code: str
    area_code: str
    kind: ItemKind
    difficulty: int
    body: Mapping[str, Any]
    format: str | None = None
    scenario: bool = False
    source: str = ""
    line: int = 0

    @property
    def info(self) -> ItemInfo:
        return ItemInfo(self.id, self.test_code, self.area_code, self.kind, self.difficulty)

    @property
    def content_hash(self) -> str:
        """SHA-256 of everything a learner sees or the engine uses; changes when the item does."""
        canonical = json.dumps(
            {
                "test": self.test_code,
                "area": self.area_code,
                "kind": self.kind.value,
                "format": self.format,
                "scenario": self.scenario,
                "difficulty": self.difficulty,
                "body": self.body,
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class BankPolicy:
    """Bank-wide rules (see CONTENT.md); loaded from ``policy.yaml``."""

    tests: tuple[str, ...] = ()
    min_mcq_per_test: int = 60
    min_flashcards_per_test: int = 30
    area_mcq_base: int = 60
    area_mcq_floor: int = 4
    min_flashcards_per_area: int = 2
    min_tech_ab_share: float = 0.20
    min_except_least_share: float = 0.10
    min_scenario_share: float = 0.40
    key_share_range: tuple[float, float] = (0.15, 0.35)
    max_key_longest_share: float = 0.35
    min_figures: Mapping[str, int] = field(default_factory=dict)
    min_figures_total: int = 0

    def min_area_mcq(self, test: TestSpec, area_code: str) -> int:
        return max(self.area_mcq_floor, round(self.area_mcq_base * test.share(area_code)))


@dataclass(frozen=True)
class Bank:
    """A parsed bank: the blueprint, the items, and every problem found."""

    blueprint: Blueprint
    items: tuple[BankItem, ...]
    problems: tuple[Problem, ...]
    policy: BankPolicy | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


# --------------------------------------------------------------------------------------------
# YAML with line numbers


class _Located:
    """A parsed YAML mapping with the line of every key (1-based)."""

    def __init__(self, node: yaml.MappingNode, value: dict[str, Any]) -> None:
        self.line = node.start_mark.line + 1
        self.value = value
        self.key_lines: dict[str, int] = {
            str(key.value): key.start_mark.line + 1 for key, _ in node.value
        }
        self.duplicate_keys = [
            (key, self.key_lines[key])
            for key, count in Counter(str(k.value) for k, _ in node.value).items()
            if count > 1
        ]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


def _compose(text: str) -> tuple[yaml.Node | None, Any]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        value = loader.construct_document(node) if node is not None else None
        return node, value
    finally:
        loader.dispose()


def _relative(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            pass
    return str(path)


# --------------------------------------------------------------------------------------------
# Blueprints


def read_blueprint(directory: Path, *, base: Path | None = None) -> tuple[Blueprint, list[Problem]]:
    """Read every ``*.yaml`` test specification in ``directory``."""
    problems: list[Problem] = []
    tests: list[TestSpec] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        problems.append(Problem(_relative(directory, base), message="no blueprint files found"))
    for path in files:
        shown = _relative(path, base)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            tests.append(test_from_mapping(data))
        except yaml.YAMLError as error:
            problems.append(Problem(shown, _yaml_line(error), message=f"bad YAML: {error}"))
        except (ValueError, TypeError, AttributeError) as error:
            problems.append(Problem(shown, message=str(error)))
    return Blueprint(sorted(tests, key=lambda test: test.code)), problems


def _yaml_line(error: yaml.YAMLError) -> int | None:
    mark = getattr(error, "problem_mark", None)
    return mark.line + 1 if mark is not None else None


# --------------------------------------------------------------------------------------------
# Items


def _bank_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(
        candidate
        for candidate in path.rglob("*.yaml")
        if candidate.name != POLICY_FILE and "blueprints" not in candidate.parts
    )


def _find_policies(path: Path) -> list[Path]:
    """Policy files that govern ``path``: the nearest one above it, else any below it."""
    directory = path if path.is_dir() else path.parent
    for candidate in [directory, *directory.parents]:
        if (candidate / POLICY_FILE).is_file():
            return [candidate / POLICY_FILE]
        if (candidate / "blueprints").is_dir():
            break
    return sorted(path.rglob(POLICY_FILE)) if path.is_dir() else []


def load_bank(
    path: Path,
    blueprint: Blueprint,
    *,
    base: Path | None = None,
    apply_policy: bool = True,
) -> Bank:
    """Parse and validate every bank file under ``path`` (a file or a folder)."""
    problems: list[Problem] = []
    items: list[BankItem] = []
    seen_ids: dict[str, str] = {}
    files = _bank_files(path)
    if not files:
        problems.append(Problem(_relative(path, base), message="no .yaml bank files found"))
    for file_path in files:
        file_items, file_problems = _read_bank_file(file_path, blueprint, base)
        problems += file_problems
        for item in file_items:
            where = f"{item.source}:{item.line}"
            if item.id in seen_ids:
                problems.append(
                    Problem(
                        item.source,
                        item.line,
                        item.id,
                        "id",
                        f"duplicate id (first defined at {seen_ids[item.id]})",
                    )
                )
                continue
            seen_ids[item.id] = where
            items.append(item)
    policy = None
    for policy_path in _find_policies(path) if apply_policy else []:
        policy, policy_problems = _read_policy(policy_path, base)
        problems += policy_problems
        if policy is None:
            continue
        bank_dir = policy_path.parent.resolve()
        whole_bank = bank_dir.is_relative_to(path.resolve())
        governed = [item for item in items if _under(item, bank_dir, base)]
        problems += _policy_problems(
            governed, blueprint, policy, _relative(policy_path.parent, base), whole_bank
        )
    return Bank(blueprint, tuple(items), tuple(sorted(problems, key=_problem_order)), policy)


def _under(item: BankItem, directory: Path, base: Path | None) -> bool:
    source = (base / item.source) if base is not None else Path(item.source)
    return source.resolve().is_relative_to(directory)


def _problem_order(problem: Problem) -> tuple[str, int, str]:
    return (problem.path, problem.line or 0, problem.field or "")


def _read_bank_file(
    path: Path, blueprint: Blueprint, base: Path | None
) -> tuple[list[BankItem], list[Problem]]:
    shown = _relative(path, base)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return [], [Problem(shown, message=f"not UTF-8 text ({error.reason})")]
    try:
        node, data = _compose(text)
    except yaml.YAMLError as error:
        return [], [
            Problem(shown, _yaml_line(error), message=f"malformed YAML: {_yaml_message(error)}")
        ]
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        return [], [Problem(shown, 1, message="expected a mapping with test, area and items")]
    header = _Located(node, data)
    problems: list[Problem] = []
    for key, line in header.duplicate_keys:
        problems.append(Problem(shown, line, field=key, message="duplicate key"))
    for key in sorted(set(data) - {"test", "area", "items"}):
        problems.append(Problem(shown, header.line_of(key), field=key, message="unknown field"))
    test_code = data.get("test")
    area_code = data.get("area")
    test = blueprint.get(str(test_code)) if test_code is not None else None
    if test is None:
        problems.append(
            Problem(
                shown,
                header.line_of("test"),
                field="test",
                message=f"unknown test {test_code!r} (known: {', '.join(blueprint)})",
            )
        )
    elif area_code not in {area.code for area in test.areas}:
        problems.append(
            Problem(
                shown,
                header.line_of("area"),
                field="area",
                message=f"unknown area {area_code!r} for {test.code} "
                f"(known: {', '.join(area.code for area in test.areas)})",
            )
        )
    items_node = next((value for key, value in node.value if key.value == "items"), None)
    if not isinstance(items_node, yaml.SequenceNode) or not isinstance(data.get("items"), list):
        problems.append(
            Problem(
                shown, header.line_of("items"), field="items", message="expected a list of items"
            )
        )
        return [], problems
    header_ok = not problems
    items: list[BankItem] = []
    for item_node, raw in zip(items_node.value, data["items"], strict=True):
        if not isinstance(item_node, yaml.MappingNode) or not isinstance(raw, dict):
            problems.append(
                Problem(shown, item_node.start_mark.line + 1, message="an item must be a mapping")
            )
            continue
        located = _Located(item_node, raw)
        item, item_problems = _validate_item(located, path, shown, str(test_code), str(area_code))
        problems += item_problems
        if item is not None and header_ok and not item_problems:
            items.append(item)
    return items, problems


def _yaml_message(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None)
    return str(problem) if problem else str(error).splitlines()[0]


def _validate_item(
    located: _Located, path: Path, shown: str, test_code: str, area_code: str
) -> tuple[BankItem | None, list[Problem]]:
    raw = located.value
    item_id = raw.get("id")
    shown_id = str(item_id) if item_id is not None else None
    problems: list[Problem] = []

    def problem(field_name: str | None, message: str) -> None:
        line = located.line_of(field_name) if field_name else located.line
        problems.append(Problem(shown, line, shown_id, field_name, message))

    for key, _line in located.duplicate_keys:
        problem(key, "duplicate key")
    kind_text = raw.get("kind")
    if kind_text not in ("mcq", "flashcard"):
        problem("kind", f"must be 'mcq' or 'flashcard', got {kind_text!r}")
        return None, problems
    kind = ItemKind(kind_text)
    allowed = MCQ_FIELDS if kind is ItemKind.MCQ else FLASHCARD_FIELDS
    for key in sorted(set(map(str, raw)) - allowed):
        problem(key, f"unknown field for a {kind.value} item")

    pattern = MCQ_ID if kind is ItemKind.MCQ else FLASHCARD_ID
    if not isinstance(item_id, str) or not (match := pattern.match(item_id)):
        example = "A6-B-012" if kind is ItemKind.MCQ else "A6-B-F01"
        problem("id", f"must look like {example}, got {item_id!r}")
    elif f"{match['test']}.{match['area']}" != area_code or match["test"] != test_code:
        problem("id", f"does not belong to area {area_code} of this file")

    difficulty = raw.get("difficulty")
    if difficulty not in (1, 2, 3) or isinstance(difficulty, bool):
        problem("difficulty", f"must be 1, 2 or 3, got {difficulty!r}")

    body: dict[str, Any] = {}
    if kind is ItemKind.MCQ:
        body = _validate_mcq(raw, problem)
    else:
        for key in ("front", "back"):
            text = _text(raw, key, problem)
            if text is not None:
                body[key] = text
        back = body.get("back")
        if back is not None and len(back.split()) > MAX_BACK_WORDS:
            problem(
                "back", f"has {len(back.split())} words; keep a flashcard back to {MAX_BACK_WORDS}"
            )

    tags = raw.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(tag, str) and tag for tag in tags):
            problem("tags", "must be a list of non-empty strings")
        else:
            body["tags"] = tags
    figure = raw.get("figure")
    if figure is not None:
        svg = _validate_figure(figure, path, problem)
        if svg is not None:
            body["figure"] = {"file": figure, "svg": svg}

    if problems:
        return None, problems
    scenario = raw.get("scenario", False)
    return (
        BankItem(
            id=str(item_id),
            test_code=test_code,
            area_code=area_code,
            kind=kind,
            difficulty=int(str(difficulty)),
            body=body,
            format=raw.get("format") if kind is ItemKind.MCQ else None,
            scenario=bool(scenario),
            source=shown,
            line=located.line,
        ),
        problems,
    )


def _text(raw: Mapping[str, Any], key: str, problem: Any) -> str | None:
    value = raw.get(key)
    if value is None:
        problem(key, "is missing")
        return None
    if not isinstance(value, str):
        problem(key, f"must be text, got {type(value).__name__} {value!r} (quote it in YAML)")
        return None
    value = value.strip()
    if not value:
        problem(key, "is empty")
        return None
    if len(value) > MAX_TEXT_CHARS:
        problem(key, f"is {len(value)} characters; the limit is {MAX_TEXT_CHARS}")
        return None
    return value


def _validate_mcq(raw: Mapping[str, Any], problem: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    item_format = raw.get("format")
    if item_format not in FORMATS:
        problem("format", f"must be one of {', '.join(FORMATS)}, got {item_format!r}")
    scenario = raw.get("scenario", False)
    if not isinstance(scenario, bool):
        problem("scenario", f"must be true or false, got {scenario!r}")
    stem = _text(raw, "stem", problem)
    if stem is not None:
        body["stem"] = stem
    choices = raw.get("choices")
    if not isinstance(choices, list):
        problem("choices", "is missing or not a list")
    elif len(choices) != 4:
        problem("choices", f"expected exactly 4 choices, got {len(choices)}")
    else:
        bad = [
            index
            for index, choice in enumerate(choices)
            if not isinstance(choice, str) or not choice.strip()
        ]
        if bad:
            problem(
                "choices",
                "choice(s) "
                + ", ".join(LETTERS[index] for index in bad)
                + " must be non-empty text (quote values like Yes, No, On or numbers)",
            )
        else:
            cleaned = [choice.strip() for choice in choices]
            if len(set(cleaned)) != 4:
                problem("choices", "choices must all be different")
            for letter, choice in zip(LETTERS, cleaned, strict=True):
                if BANNED_CHOICES.search(choice):
                    problem("choices", f"choice {letter} uses '{choice}'; write a real option")
            if item_format == "tech_ab" and tuple(cleaned) != TECH_AB_CHOICES:
                problem("choices", f"tech_ab choices must be exactly {list(TECH_AB_CHOICES)}")
            body["choices"] = cleaned
    if stem is not None:
        if item_format == "tech_ab" and not ("Technician A" in stem and "Technician B" in stem):
            problem("stem", "a tech_ab stem must state what Technician A and Technician B say")
        if item_format == "except" and "EXCEPT" not in stem:
            problem("stem", "an except item's stem must contain EXCEPT in capitals")
        if item_format == "least" and "LEAST" not in stem:
            problem("stem", "a least item's stem must contain LEAST in capitals")
    answer = raw.get("answer")
    if answer not in LETTERS:
        problem("answer", f"must be one of A, B, C, D, got {answer!r}")
    else:
        body["answer"] = answer
    explanation = _text(raw, "explanation", problem)
    if explanation is not None:
        body["explanation"] = explanation
    rationales = raw.get("rationales")
    if not isinstance(rationales, dict):
        problem("rationales", "is missing: give a rationale for each distractor")
    elif answer in LETTERS:
        wanted = set(LETTERS) - {answer}
        have = set(map(str, rationales))
        if have != wanted:
            missing = ", ".join(sorted(wanted - have)) or "none"
            extra = ", ".join(sorted(have - wanted)) or "none"
            problem(
                "rationales",
                f"need exactly {', '.join(sorted(wanted))} "
                f"(missing: {missing}; not allowed: {extra})",
            )
        else:
            texts = {}
            for letter in sorted(wanted):
                text = rationales[letter]
                if not isinstance(text, str) or not text.strip():
                    problem("rationales", f"rationale {letter} must be non-empty text")
                else:
                    texts[letter] = text.strip()
            body["rationales"] = texts
    return body


def _validate_figure(figure: Any, path: Path, problem: Any) -> str | None:
    if not isinstance(figure, str) or not figure.endswith(".svg"):
        problem("figure", f"must be a relative path to an .svg file, got {figure!r}")
        return None
    figure_path = (path.parent / figure).resolve()
    if not figure_path.is_relative_to(path.parent.resolve()):
        problem("figure", "must stay inside the bank's folder")
        return None
    if not figure_path.is_file():
        problem("figure", f"file not found: {figure}")
        return None
    data = figure_path.read_bytes()
    if len(data) > MAX_FIGURE_BYTES:
        problem("figure", f"{figure} is {len(data)} bytes; the limit is {MAX_FIGURE_BYTES}")
        return None
    try:
        text = data.decode("utf-8")
        if "<!DOCTYPE" in text or "<!ENTITY" in text:
            problem("figure", f"{figure}: DOCTYPE and entities are not allowed")
            return None
        root = ElementTree.fromstring(text)
    except (UnicodeDecodeError, ElementTree.ParseError) as error:
        problem("figure", f"{figure} is not valid SVG/XML: {error}")
        return None
    for message in _svg_problems(root):
        problem("figure", f"{figure}: {message}")
    return text


def _svg_problems(root: ElementTree.Element) -> Iterator[str]:
    if root.tag != f"{SVG_NS}svg":
        yield "root element must be <svg> in the SVG namespace"
        return
    if not root.get("viewBox"):
        yield "the <svg> element needs a viewBox"
    children = [child.tag for child in root]
    if children[:1] != [f"{SVG_NS}title"] or f"{SVG_NS}desc" not in children[1:3]:
        yield "the first children of <svg> must be <title> then <desc> (for screen readers)"
    for title_or_desc in ("title", "desc"):
        element = root.find(f"{SVG_NS}{title_or_desc}")
        if element is not None and not (element.text or "").strip():
            yield f"<{title_or_desc}> is empty"
    for element in root.iter():
        tag = element.tag.removeprefix(SVG_NS)
        if tag in ("script", "foreignObject", "image", "iframe", "object", "embed"):
            yield f"<{tag}> is not allowed"
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1]
            if local.lower().startswith("on"):
                yield f"event attribute {local} is not allowed"
            if local == "href" and not value.startswith("#"):
                yield f"external reference {value!r} is not allowed"
            if "url(" in value and "url(#" not in value:
                yield f"external url() in {local} is not allowed"


# --------------------------------------------------------------------------------------------
# Policy


def _read_policy(path: Path, base: Path | None) -> tuple[BankPolicy | None, list[Problem]]:
    shown = _relative(path, base)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        key_range = data.get("key_share_range", [0.15, 0.35])
        policy = BankPolicy(
            tests=tuple(data.get("tests", ())),
            min_mcq_per_test=int(data.get("min_mcq_per_test", 60)),
            min_flashcards_per_test=int(data.get("min_flashcards_per_test", 30)),
            area_mcq_base=int(data.get("area_mcq_base", 60)),
            area_mcq_floor=int(data.get("area_mcq_floor", 4)),
            min_flashcards_per_area=int(data.get("min_flashcards_per_area", 2)),
            min_tech_ab_share=float(data.get("min_tech_ab_share", 0.20)),
            min_except_least_share=float(data.get("min_except_least_share", 0.10)),
            min_scenario_share=float(data.get("min_scenario_share", 0.40)),
            key_share_range=(float(key_range[0]), float(key_range[1])),
            max_key_longest_share=float(data.get("max_key_longest_share", 0.35)),
            min_figures={str(k): int(v) for k, v in (data.get("min_figures") or {}).items()},
            min_figures_total=int(data.get("min_figures_total", 0)),
        )
    except (yaml.YAMLError, ValueError, TypeError, IndexError, AttributeError) as error:
        return None, [Problem(shown, message=f"bad policy file: {error}")]
    return policy, []


def key_is_strictly_longest(item: BankItem) -> bool:
    choices = item.body["choices"]
    key = LETTERS.index(item.body["answer"])
    return all(len(choices[key]) > len(choice) for i, choice in enumerate(choices) if i != key)


def _policy_problems(
    items: Iterable[BankItem],
    blueprint: Blueprint,
    policy: BankPolicy,
    shown: str,
    whole_bank: bool,
) -> list[Problem]:
    problems: list[Problem] = []
    by_test: dict[str, list[BankItem]] = defaultdict(list)
    for item in items:
        by_test[item.test_code].append(item)
    if whole_bank:
        for code in policy.tests:
            if code not in by_test:
                problems.append(
                    Problem(
                        shown,
                        field=code,
                        message="the policy lists this test but the bank has no items for it",
                    )
                )
    figures_total = 0
    for code, test_items in sorted(by_test.items()):
        if code not in blueprint or (policy.tests and code not in policy.tests):
            continue
        stats = _test_stats(test_items, blueprint[code], policy)
        figures_total += stats["figures"]

        def fail(message: str, test_code: str = code) -> None:
            problems.append(Problem(shown, field=test_code, message=message))

        if stats["mcq"] < policy.min_mcq_per_test:
            fail(f"{stats['mcq']} multiple-choice items; needs at least {policy.min_mcq_per_test}")
        if stats["flashcards"] < policy.min_flashcards_per_test:
            fail(
                f"{stats['flashcards']} flashcards; needs at least {policy.min_flashcards_per_test}"
            )
        for area in stats["areas"]:
            if area["mcq"] < area["mcq_target"]:
                fail(
                    f"{area['code']}: {area['mcq']} multiple-choice items; needs at least "
                    f"{area['mcq_target']} (max({policy.area_mcq_floor}, round("
                    f"{policy.area_mcq_base} × {area['share']:.3f})))"
                )
            if area["flashcards"] < policy.min_flashcards_per_area:
                fail(
                    f"{area['code']}: {area['flashcards']} flashcards; needs at least "
                    f"{policy.min_flashcards_per_area}"
                )
        if not stats["mcq"]:
            continue
        shares = stats["shares"]
        if shares["tech_ab"] < policy.min_tech_ab_share:
            fail(
                f"tech_ab is {shares['tech_ab']:.0%} of multiple choice; needs at least "
                f"{policy.min_tech_ab_share:.0%}"
            )
        if shares["except_least"] < policy.min_except_least_share:
            fail(
                f"except + least is {shares['except_least']:.0%}; needs at least "
                f"{policy.min_except_least_share:.0%}"
            )
        if shares["scenario"] < policy.min_scenario_share:
            fail(
                f"scenario items are {shares['scenario']:.0%}; needs at least "
                f"{policy.min_scenario_share:.0%}"
            )
        low, high = policy.key_share_range
        for letter, share in stats["key_shares"].items():
            if not low <= share <= high:
                fail(
                    f"key {letter} is the answer in {share:.0%} of items; keep each letter "
                    f"between {low:.0%} and {high:.0%}"
                )
        if stats["key_longest_share"] > policy.max_key_longest_share:
            fail(
                f"the key is the strictly longest choice in {stats['key_longest_share']:.0%} "
                f"of items; keep it at most {policy.max_key_longest_share:.0%}"
            )
        if stats["figures"] < policy.min_figures.get(code, 0):
            fail(
                f"{stats['figures']} items with figures; needs at least {policy.min_figures[code]}"
            )
    if whole_bank and figures_total < policy.min_figures_total:
        problems.append(
            Problem(
                shown,
                field="figures",
                message=f"{figures_total} items with "
                f"figures in the bank; needs at least {policy.min_figures_total}",
            )
        )
    return problems


def _test_stats(items: list[BankItem], test: TestSpec, policy: BankPolicy | None) -> dict[str, Any]:
    mcq = [item for item in items if item.kind is ItemKind.MCQ]
    flashcards = [item for item in items if item.kind is ItemKind.FLASHCARD]
    formats = Counter(item.format for item in mcq)
    keys = Counter(item.body["answer"] for item in mcq)
    count = len(mcq) or 1
    areas = []
    for area in test.areas:
        area_mcq = [item for item in mcq if item.area_code == area.code]
        areas.append(
            {
                "code": area.code,
                "name": area.name,
                "scored_questions": area.scored_questions,
                "share": area.scored_questions / test.scored_questions,
                "mcq": len(area_mcq),
                "flashcards": sum(item.area_code == area.code for item in flashcards),
                "mcq_target": policy.min_area_mcq(test, area.code) if policy else None,
                "formats": dict(sorted(Counter(item.format for item in area_mcq).items())),
            }
        )
    return {
        "code": test.code,
        "name": test.name,
        "scored_questions": test.scored_questions,
        "mcq": len(mcq),
        "flashcards": len(flashcards),
        "formats": {name: formats.get(name, 0) for name in FORMATS},
        "scenario": sum(item.scenario for item in mcq),
        "shares": {
            "tech_ab": formats.get("tech_ab", 0) / count,
            "except_least": (formats.get("except", 0) + formats.get("least", 0)) / count,
            "scenario": sum(item.scenario for item in mcq) / count,
        },
        "key_shares": {letter: keys.get(letter, 0) / count for letter in LETTERS},
        "key_longest_share": sum(map(key_is_strictly_longest, mcq)) / count,
        "figures": sum("figure" in item.body for item in items),
        "difficulty": dict(sorted(Counter(item.difficulty for item in items).items())),
        "areas": areas,
    }


def bank_stats(bank: Bank) -> dict[str, Any]:
    """Items per test, area, kind and format against the blueprint, with the key-balance and
    longest-choice figures of CONTENT.md. JSON-ready."""
    by_test: dict[str, list[BankItem]] = defaultdict(list)
    for item in bank.items:
        by_test[item.test_code].append(item)
    tests = [
        _test_stats(by_test[code], bank.blueprint[code], bank.policy)
        for code in bank.blueprint
        if code in by_test
    ]
    return {
        "items": len(bank.items),
        "mcq": sum(test["mcq"] for test in tests),
        "flashcards": sum(test["flashcards"] for test in tests),
        "figures": sum(test["figures"] for test in tests),
        "problems": len(bank.problems),
        "tests": tests,
    }


def format_stats(stats: Mapping[str, Any]) -> str:
    """A plain-text table of :func:`bank_stats`."""
    lines = [
        f"{stats['items']} items: {stats['mcq']} multiple choice, {stats['flashcards']} "
        f"flashcards, {stats['figures']} with figures",
        "",
        f"{'test':<5} {'mcq':>4} {'flash':>5} {'tech_ab':>7} {'exc+lst':>7} {'scen':>5} "
        f"{'A':>4} {'B':>4} {'C':>4} {'D':>4} {'longest':>7} {'figs':>4}",
    ]
    for test in stats["tests"]:
        keys = test["key_shares"]
        shares = test["shares"]
        lines.append(
            f"{test['code']:<5} {test['mcq']:>4} {test['flashcards']:>5} "
            f"{shares['tech_ab']:>7.0%} {shares['except_least']:>7.0%} {shares['scenario']:>5.0%} "
            + " ".join(f"{keys[letter]:>4.0%}" for letter in LETTERS)
            + f" {test['key_longest_share']:>7.0%} {test['figures']:>4}"
        )
    lines += ["", f"{'area':<6} {'scored':>6} {'mcq':>4} {'target':>6} {'flash':>5}  name"]
    for test in stats["tests"]:
        for area in test["areas"]:
            target = area["mcq_target"] if area["mcq_target"] is not None else "-"
            lines.append(
                f"{area['code']:<6} {area['scored_questions']:>6} {area['mcq']:>4} {target:>6} "
                f"{area['flashcards']:>5}  {area['name']}"
            )
    return "\n".join(lines)


def check_path(path: Path, content_root: Path) -> Bank:
    """Validate ``path`` (a bank folder or file) against the blueprint under ``content_root``.

    Problems in the blueprint itself are reported too.
    """
    blueprint, blueprint_problems = read_blueprint(
        content_root / "blueprints", base=content_root.parent
    )
    bank = load_bank(path, blueprint, base=content_root.parent)
    if blueprint_problems:
        bank = Bank(bank.blueprint, bank.items, (*blueprint_problems, *bank.problems), bank.policy)
    return bank
