"""The report page's Jinja2 template (``nnexp/insight/templates/report.html.j2``): every value
is escaped (a study name, a parameter, a reason or a YAML text holding markup stays text), each
section says when it has nothing to show, and the template ships with the package."""

from __future__ import annotations

from html.parser import HTMLParser
from types import SimpleNamespace

import pytest

from nnexp.insight.report import page

EVIL = "<script>alert('x')</script>&"


def _context(**changes):
    finding = SimpleNamespace(kind="edge", title=f"title {EVIL}", evidence=f"ev {EVIL}",
                              moves=[f"move {EVIL}"])
    context = {
        "name": f"study {EVIL}", "written": "2024-01-01 00:00", "experiment_file": EVIL,
        "summary": [("objective", f"acc {EVIL}"), ("trials", "3: 3 complete")],
        "findings": [finding],
        "diagnosis": {"unit": "rmse", "threshold": "0.05", "head": ("trial", EVIL),
                      "rows": [[1, 0.123456789], [2, None]]},
        "best": {"head": ("trial", "value", "init"), "rows": [[1, 0.5, EVIL]]},
        "curves": {"alt": f"curves {EVIL}", "png": "iVBORw0KGgo="},
        "importances": {"figure": None, "note": f"too few trials {EVIL}"},
        "signals": {"signal": "dead_layer", "evidence": EVIL, "trial": 1,
                    "head": ("layer", "dead_fraction"), "rows": [["layer 1", 0.5]]},
        "next_space": {"changes": [f"widen {EVIL}"], "yaml": f"a: '{EVIL}'\n"},
    }
    return {**context, **changes}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)

    def handle_data(self, data) -> None:
        self.text.append(data)


def _parse(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


def test_every_value_is_escaped_and_reads_back_as_text():
    html = page(_context())
    assert "<script>" not in html and "&lt;script&gt;" in html
    parsed = _parse(html)
    assert "script" not in parsed.tags
    text = "".join(parsed.text)
    for expected in (f"Study study {EVIL}", f"title {EVIL}", f"move {EVIL}", f"acc {EVIL}",
                     f"widen {EVIL}", f"a: '{EVIL}'", "0.1235", f"too few trials {EVIL}",
                     "signal: dead_layer", "last recorded value per layer, trial 1"):
        assert expected in text, expected
    assert "src='data:image/png;base64,iVBORw0KGgo='" in html
    assert "<td>-</td>" in html  # a missing value


def test_empty_sections_say_so():
    html = page(_context(diagnosis=None, curves=None, signals=None, next_space=None,
                         findings=[], importances={"figure": None, "note": None}))
    text = "".join(_parse(html).text)
    for expected in ("no MLflow runs recorded for the top trials", "no importances",
                     "no per-layer signals recorded", "no search space known for this study"):
        assert expected in text, expected
    assert "errors as" not in text


def test_a_missing_value_is_an_error_not_an_empty_cell():
    import jinja2

    context = _context()
    del context["best"]
    with pytest.raises(jinja2.UndefinedError):
        page(context)


def test_the_template_is_package_data():
    from importlib.resources import files
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    assert files("nnexp.insight").joinpath("templates", "report.html.j2").is_file()
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert "templates/*.j2" in pyproject["tool"]["setuptools"]["package-data"]["nnexp.insight"]
