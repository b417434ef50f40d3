"""The message catalogs: every key in every language, with the same placeholders, plural
where it is counted, and every key the code names present."""

from __future__ import annotations

import io
import re
import string
from datetime import date
from importlib.resources import files
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from clinic import texts
from clinic.errors import Msg
from clinic.web.problems import VALIDATION

SOURCE = Path(__file__).resolve().parent.parent / "clinic"
# A text named in code: msg("key"...), tx("key"), RU("key"), self("key"), tx.n("key", ...).
NAMED = re.compile(r"""\b(msg|tx|RU|EN|self|n)\(\s*"([a-z_]+(?:\.[a-z_]+)+)"(\s*,[^)]*count=)?""")


def entries(lang: texts.Lang) -> dict[str, list[str]]:
    """Each key with its text(s): one for a plain entry, one per plural form for a plural."""
    source = files("clinic.locales").joinpath(f"{lang}.po").read_bytes()
    out = {}
    for message in read_po(io.BytesIO(source), locale=lang):
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        out[str(key)] = [str(s) for s in strings]
    return out


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def named_in_code() -> dict[str, bool]:
    """Every key the code names literally, with whether it is asked for with a count."""
    named: dict[str, bool] = {}
    for path in SOURCE.rglob("*.py"):
        for call, key, counted in NAMED.findall(path.read_text()):
            plural = call == "n" or bool(counted)
            named[key] = named.get(key, False) or plural
    return named


def test_both_catalogs_have_the_same_keys_and_placeholders() -> None:
    ru, en = entries("ru"), entries("en")
    assert len(ru) > 100
    assert ru.keys() == en.keys()
    for key in ru:
        assert all(ru[key]) and all(en[key]), f"{key} is empty in a catalog"
        wanted = placeholders(ru[key][-1])
        for text in ru[key] + en[key]:
            assert placeholders(text) == wanted, f"{key}: {text!r} has other placeholders"


def test_plural_entries_have_each_form_of_their_language() -> None:
    ru, en = texts.catalog_keys("ru"), texts.catalog_keys("en")
    assert ru == en  # a key is plural in both languages or in neither
    forms = {"ru": 3, "en": 2}
    for lang, catalog in (("ru", entries("ru")), ("en", entries("en"))):
        for key, plural in texts.catalog_keys(lang).items():
            assert len(catalog[key]) == (forms[lang] if plural else 1), key
            if plural:
                assert all("{count}" in text for text in catalog[key]), key


def test_every_key_the_code_names_is_in_the_catalogs_as_it_is_asked_for() -> None:
    named = named_in_code()
    assert len(named) > 100  # the scan finds the code's texts at all
    catalog = texts.catalog_keys("ru")
    missing = sorted(set(named) - set(catalog))
    assert not missing, f"named in code, not in the catalogs: {missing}"
    wrong = sorted(key for key, counted in named.items() if counted and not catalog[key])
    assert not wrong, f"asked for with a count, but not plural: {wrong}"
    for key in VALIDATION.values():
        assert key in catalog


@pytest.mark.parametrize(
    ("count", "ru", "en"),
    [
        (1, "Не больше 1 дня за раз", "At most 1 day at once"),
        (3, "Не больше 3 дней за раз", "At most 3 days at once"),
        (21, "Не больше 21 дня за раз", "At most 21 days at once"),
        (92, "Не больше 92 дней за раз", "At most 92 days at once"),
    ],
)
def test_a_counted_text_takes_the_form_of_its_count(count: int, ru: str, en: str) -> None:
    message = Msg("error.export_span", {}, count)
    assert texts.RU.render(message) == ru
    assert texts.EN.render(message) == en


def test_a_language_tag_picks_english_or_russian() -> None:
    assert [texts.language(code) for code in ("en", "en-GB", "EN", " en-us")] == ["en"] * 4
    assert [texts.language(code) for code in ("ru", "uk", "de-DE", "", None)] == ["ru"] * 5


def test_dates_and_day_names_are_in_the_language() -> None:
    day = date(2026, 12, 3)
    assert (texts.RU.full_date(day), texts.RU.weekday(day), texts.RU.weekday_short(day)) == (
        "03.12.2026",
        "Четверг",
        "Чт",
    )
    assert (texts.EN.full_date(day), texts.EN.weekday(day), texts.EN.weekday_short(day)) == (
        "3 Dec 2026",
        "Thursday",
        "Thu",
    )


def test_a_default_reason_reads_in_the_patients_language_and_a_given_one_as_given() -> None:
    stored = texts.RU("staff.time_off_reason")
    assert texts.EN.reason(stored) == texts.EN("staff.time_off_reason") != stored
    assert texts.EN.reason("врач на конференции") == "врач на конференции"


def test_an_unknown_key_is_an_error_not_a_silent_key() -> None:
    with pytest.raises(KeyError):
        texts.RU("no.such.text")
    with pytest.raises(KeyError):
        texts.RU.n("clinic.name", 2)  # not a plural entry
