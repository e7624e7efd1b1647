"""The vars check in macros/settings.sql, rendered with Jinja alone (dbt's `var`, `return` and
`exceptions` stubbed): every malformed value stops the run with one line naming the var.
tests/integration/test_hostile_input.py runs two of them through dbt end to end."""

import re
from pathlib import Path

import jinja2
import pytest

SETTINGS = Path(__file__).resolve().parents[2] / "macros" / "settings.sql"
DEFAULTS = {"horizons": [7, 30, 180], "as_of": None, "encoders": None, "events_per_range": 6_000_000,
            "max_clock_skew_minutes": 60, "max_category_values": 50, "max_listed_users": 20_000, "time_features": "sliding"}


class Stop(Exception):
    pass


class Returned(Exception):
    def __init__(self, value):
        self.value = value


@pytest.fixture(autouse=True)
def dbt_like_return(monkeypatch):
    """A macro's return() hands back its value to the caller, as in dbt."""
    invoke = jinja2.runtime.Macro._invoke

    def returning(self, arguments, autoescape):
        try:
            return invoke(self, arguments, autoescape)
        except Returned as done:
            return done.value

    monkeypatch.setattr(jinja2.runtime.Macro, "_invoke", returning)


def macros(vars_: dict):
    def raise_error(message):
        raise Stop(message)

    def return_(value):
        raise Returned(value)

    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    env.globals.update(var=lambda name: vars_[name], exceptions=type("E", (), {"raise_compiler_error": staticmethod(raise_error)}),
                       modules=type("M", (), {"re": re}), env_var=lambda name, default=None: default)
    env.globals["return"] = return_
    template = env.from_string(SETTINGS.read_text())
    return template.module


def call(vars_: dict, name: str):
    return getattr(macros({**DEFAULTS, **vars_}), name)()


def test_defaults_pass_and_horizons_come_back_ascending():
    assert not call({}, "validate_vars")
    assert call({"horizons": [180, 7, 30]}, "horizons") == [7, 30, 180]


@pytest.mark.parametrize("value", [[0], [-7], ["a"], [7.5], [], [7, 7], "7", None])
def test_bad_horizons_are_refused_naming_the_var(value):
    with pytest.raises(Stop, match=r"^var horizons must be a non-empty list of distinct whole numbers of days, each >= 1 \(got "):
        call({"horizons": value}, "validate_vars")


@pytest.mark.parametrize("name, value", [
    ("as_of", "yesterday"), ("as_of", "2026-13-01"), ("as_of", "2026-6-1"),
    ("encoders", "a"), ("encoders", []), ("encoders", [1]),
    ("events_per_range", 0), ("events_per_range", "many"), ("max_clock_skew_minutes", -1), ("max_category_values", 0),
    ("max_listed_users", -1), ("max_listed_users", "all"), ("time_features", "calendar"), ("time_features", None),
])
def test_other_bad_vars_are_refused_naming_the_var(name, value):
    with pytest.raises(Stop, match=rf"^var {name} must be"):
        call({name: value}, "validate_vars")


def test_every_problem_is_reported_at_once():
    with pytest.raises(Stop) as stop:
        call({"as_of": "soon", "events_per_range": 0}, "validate_vars")
    assert "var as_of" in str(stop.value) and "var events_per_range" in str(stop.value)
