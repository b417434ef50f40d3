"""The MiniApp's message catalogs (miniapp/src/locales/{ru,en}.json) and its sources.

Fails when a key exists in one language only, when a message's {placeholders} or its
plural forms differ between the languages, when the sources use a key no catalog has
(or a catalog keeps a key nothing uses), and when a .vue or .ts file under miniapp/src
still holds Cyrillic text: every Russian word of the MiniApp lives in ru.json.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

SRC = ROOT / "miniapp" / "src"
LOCALES = SRC / "locales"
LANGUAGES = ("ru", "en")

# How many plural forms each language's messages list ("a | b | c"): Russian one, few,
# many (its rule is the pluralRules of src/lib/i18n.ts), English one and other.
PLURAL_FORMS = {"ru": 3, "en": 2}

# Cyrillic that may stay in a source file: (path under miniapp/src, the exact text, why).
# Nothing needs to: Russian data (doctors' names, specializations) comes from the API,
# and every text of the page is in the catalogs. An entry here must still match, so
# the list cannot outlive its reason.
CYRILLIC_ALLOWED: list[tuple[str, str, str]] = []

CYRILLIC = re.compile(r"[\u0400-\u04ff]+")
# vue-i18n's message syntax: {name} a named placeholder, {'text'} a literal.
PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")
LITERAL = re.compile(r"\{\s*'[^']*'\s*\}")
# A key as the sources use it: t('a.b'), t('a.b', {...}), and <i18n-t keypath="a.b">.
KEY_USE = re.compile(r"""\bt\(\s*'([^']+)'|keypath="([^"]+)\"""")
# Any other first argument of t(): a key this test could not check.
DYNAMIC_KEY = re.compile(r"""\bt\(\s*(?!['\s)])""")


def flatten(tree: dict[str, object], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for name, value in tree.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{key}."))
        elif isinstance(value, str):
            flat[key] = value
        else:
            raise AssertionError(f"{key}: a message must be a string, not {value!r}")
    return flat


def catalog(language: str) -> dict[str, str]:
    tree = json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8"))
    return flatten(tree)


def sources() -> list[Path]:
    files = sorted([*SRC.rglob("*.vue"), *SRC.rglob("*.ts")])
    assert files, f"no sources under {SRC}"
    return files


def placeholders(message: str) -> set[str]:
    return set(PLACEHOLDER.findall(LITERAL.sub("", message)))


def forms(message: str) -> int:
    return len(message.split("|"))


@pytest.fixture(scope="module")
def catalogs() -> dict[str, dict[str, str]]:
    return {language: catalog(language) for language in LANGUAGES}


def test_every_key_exists_in_every_language(catalogs: dict[str, dict[str, str]]) -> None:
    ru, en = set(catalogs["ru"]), set(catalogs["en"])
    assert not ru - en, f"only in ru.json: {sorted(ru - en)}"
    assert not en - ru, f"only in en.json: {sorted(en - ru)}"


def test_messages_name_the_same_placeholders(catalogs: dict[str, dict[str, str]]) -> None:
    differ = {
        key: {language: sorted(placeholders(catalogs[language][key])) for language in LANGUAGES}
        for key in catalogs["ru"].keys() & catalogs["en"].keys()
        if placeholders(catalogs["ru"][key]) != placeholders(catalogs["en"][key])
    }
    assert not differ, f"placeholders differ: {differ}"


def test_plural_messages_have_each_languages_forms(catalogs: dict[str, dict[str, str]]) -> None:
    wrong = []
    for key in catalogs["ru"].keys() & catalogs["en"].keys():
        counts = {language: forms(catalogs[language][key]) for language in LANGUAGES}
        plural = any(count > 1 for count in counts.values())
        if plural and counts != PLURAL_FORMS:
            wrong.append(f"{key}: {counts}, expected {PLURAL_FORMS}")
    assert not wrong, "plural forms: " + "; ".join(wrong)


@pytest.mark.parametrize("language", LANGUAGES)
def test_messages_are_plain_for_vue_i18n(language: str) -> None:
    """Braces hold a placeholder or a literal; '@' (a linked message) and '$' are not used."""
    bad = []
    for key, message in catalog(language).items():
        rest = PLACEHOLDER.sub("", LITERAL.sub("", message))
        if not message.strip():
            bad.append(f"{key}: empty")
        for char in "{}@$":
            if char in rest:
                bad.append(f"{key}: a stray {char!r} in {message!r}")
    assert not bad, "; ".join(bad)


def test_every_key_the_sources_use_exists(catalogs: dict[str, dict[str, str]]) -> None:
    used: dict[str, str] = {}
    dynamic = []
    for path in sources():
        text = path.read_text(encoding="utf-8")
        where = str(path.relative_to(SRC))
        for match in KEY_USE.finditer(text):
            used.setdefault(match.group(1) or match.group(2), where)
        for match in DYNAMIC_KEY.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            dynamic.append(f"{where}:{line}")
    assert not dynamic, f"keys must be string literals, so that they can be checked: {dynamic}"
    missing = {key: where for key, where in used.items() if key not in catalogs["ru"]}
    assert not missing, f"keys used but in no catalog: {missing}"
    unused = sorted(catalogs["ru"].keys() - used.keys())
    assert not unused, f"keys in the catalogs that nothing uses: {unused}"


def test_no_cyrillic_in_the_sources_outside_the_catalogs() -> None:
    found = []
    allowed_hits = {entry: 0 for entry in CYRILLIC_ALLOWED}
    for path in sources():
        where = str(path.relative_to(SRC))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not CYRILLIC.search(line):
                continue
            allowed = [
                entry for entry in CYRILLIC_ALLOWED if entry[0] == where and entry[1] in line
            ]
            for entry in allowed:
                allowed_hits[entry] += 1
            rest = line
            for _, text, _ in allowed:
                rest = rest.replace(text, "")
            if CYRILLIC.search(rest):
                found.append(f"{where}:{number}: {line.strip()}")
    assert not found, "Cyrillic outside the catalogs:\n" + "\n".join(found)
    stale = [entry[:2] for entry, hits in allowed_hits.items() if hits == 0]
    assert not stale, f"allow-list entries that match nothing any more: {stale}"


def test_the_scan_sees_what_it_must() -> None:
    """The patterns themselves: a Russian word, a dynamic key and placeholders are caught."""
    assert CYRILLIC.search("title: 'Мои записи'")
    assert DYNAMIC_KEY.search("t(`staff.roles.${role}`)") and DYNAMIC_KEY.search("t(key)")
    assert not DYNAMIC_KEY.search("t('app.name')") and not DYNAMIC_KEY.search("at('8.0')")
    assert [m.group(1) for m in KEY_USE.finditer("t('a.b', { n }) + t( 'c' )")] == ["a.b", "c"]
    assert placeholders("{date} в {time}, {'{'}") == {"date", "time"}
    assert forms("{n} врач | {n} врача | {n} врачей") == 3
