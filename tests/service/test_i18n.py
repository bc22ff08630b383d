"""The translation catalogues: Dutch complete, catalogues in step with the source, .mo files compiled, and used.

When a test here fails after you added or changed a string: run `scripts/i18n`, translate the empty
entries in translations/nl/LC_MESSAGES/messages.po, run `scripts/i18n compile`, and commit
translations/ (the .pot, both .po and both .mo files).
"""

from __future__ import annotations

import gettext
import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
LOCALES = ("nl", "en")
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
HOW_TO_FIX = "run scripts/i18n, translate the empty entries in translations/nl/LC_MESSAGES/messages.po, " \
             "run scripts/i18n compile"


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def load(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def texts(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def show(message) -> str:
    text = repr(texts(message.id)[0])
    return text if message.context is None else f"{message.context!r}: {text}"


def entries(catalog: Catalog) -> dict:
    """(context, msgid or (msgid, msgid_plural)) -> message, without the header."""
    return {(m.context, m.id): m for m in catalog if m.id}


def extract_source() -> Catalog:
    """What `pybabel extract -F babel.cfg .` finds now, with the keywords and options of babel.cfg."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(str(ROOT), method_map, options_map):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def gettext_view(mo_bytes: bytes) -> dict:
    """The messages as gettext reads them; the header line naming the compiling Babel version is left out."""
    catalog = dict(gettext.GNUTranslations(io.BytesIO(mo_bytes))._catalog)
    catalog[""] = "\n".join(line for line in catalog.get("", "").splitlines() if not line.startswith("Generated-By:"))
    return catalog


@pytest.fixture(scope="module")
def source() -> Catalog:
    return extract_source()


def test_every_dutch_entry_is_translated_with_the_same_placeholders():
    problems = []
    for message in entries(load(po_path("nl"), "nl")).values():
        strings = texts(message.string)
        if message.fuzzy:
            problems.append(f"fuzzy (check it, then remove the fuzzy flag): {show(message)}")
            continue
        if not all(s.strip() for s in strings):
            problems.append(f"not translated: {show(message)}")
            continue
        wanted = set().union(*(PLACEHOLDER.findall(s) for s in texts(message.id)))
        values = {name: 1 for name in wanted}
        for translated in strings:
            found = set(PLACEHOLDER.findall(translated))
            if found != wanted:
                problems.append(f"placeholders {sorted(found)} instead of {sorted(wanted)}: {show(message)}")
                continue
            if wanted or "%%" in translated:  # python-format: the translation must format like the source
                try:
                    translated % values
                except (ValueError, TypeError, KeyError) as error:
                    problems.append(f"does not format ({error}): {show(message)} -> {translated!r}")
    assert not problems, f"Dutch catalogue: {len(problems)} problems ({HOW_TO_FIX}):\n" + "\n".join(problems)


def test_catalogues_hold_exactly_the_strings_in_the_source(source):
    wanted = set(entries(source))
    assert wanted, "extraction found no strings: is babel.cfg right?"
    problems = []
    for path in [TRANSLATIONS / "messages.pot", *(po_path(locale) for locale in LOCALES)]:
        have = set(entries(load(path)))
        missing = sorted(str(key[1]) for key in wanted - have)
        stale = sorted(str(key[1]) for key in have - wanted)
        if missing:
            problems.append(f"{path.relative_to(ROOT)} lacks {len(missing)} strings from the source:\n  "
                            + "\n  ".join(missing))
        if stale:
            problems.append(f"{path.relative_to(ROOT)} holds {len(stale)} strings no longer in the source:\n  "
                            + "\n  ".join(stale))
    assert not problems, f"Catalogues are behind the source ({HOW_TO_FIX}):\n" + "\n".join(problems)


def test_extraction_covers_python_and_every_kind_of_template(source):
    files = {filename for message in source for filename, _line in message.locations}
    for expected in ("service/web/i18n.py", "service/web/forms.py", "workflows/domain/exports.py", "templates/base.html",
                     "templates/emails/_layout.html", "templates/emails/invitation/subject.txt",
                     "templates/emails/invitation/body.txt", "templates/emails/invitation/body.html"):
        assert expected in files, f"babel.cfg does not extract {expected}"
    assert source.get("The input was not valid.") is not None  # lazy_gettext as _l
    assert source.get("%(opener)s invites you to read and comment on version %(number)s of “%(title)s”.") is not None


@pytest.mark.parametrize("locale", LOCALES)
def test_mo_is_compiled_from_the_current_po(locale):
    po = po_path(locale)
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo.relative_to(ROOT)} is missing: run scripts/i18n compile"
    compiled = io.BytesIO()
    write_mo(compiled, load(po, locale), use_fuzzy=False)
    assert gettext_view(mo.read_bytes()) == gettext_view(compiled.getvalue()), \
        f"{mo.relative_to(ROOT)} is not compiled from the current {po.name}: run scripts/i18n compile"


def test_dutch_catalogue_is_used():
    dutch = Translations.load(str(TRANSLATIONS), ["nl"])
    assert isinstance(dutch, Translations), "translations/nl/LC_MESSAGES/messages.mo is missing"
    assert dutch.gettext("Sign in") == "Inloggen"
    assert dutch.gettext("en") == "nl"  # the lang attribute of the e-mail layout
    assert dutch.gettext("Round %(number)s") % {"number": 3} == "Ronde 3"
    assert dutch.ngettext("%(num)d word added", "%(num)d words added", 2) % {"num": 2} == "2 woorden toegevoegd"


def test_english_falls_back_to_the_source_strings():
    english = Translations.load(str(TRANSLATIONS), ["en"])
    assert isinstance(english, Translations), "translations/en/LC_MESSAGES/messages.mo is missing"
    assert english.gettext("Sign in") == "Sign in"
    assert english.gettext("en") == "en"
    assert english.ngettext("%(num)d word added", "%(num)d words added", 1) == "%(num)d word added"
    assert english.ngettext("%(num)d word added", "%(num)d words added", 2) == "%(num)d words added"


@pytest.mark.parametrize(("locale", "lang", "footer"), [
    ("nl", 'lang="nl"', "U ontvangt deze e-mail van Akkoord namens uw netwerk."),
    ("en", 'lang="en"', "You receive this email from Akkoord on behalf of your network."),
])
def test_email_templates_render_in_the_recipients_language(locale, lang, footer):
    from workflows.outbound.emails import environment

    html = environment(locale).get_template("emails/_layout.html").render()
    assert lang in html
    assert footer in html


def test_flask_pages_speak_dutch_by_default():
    from flask import Flask, render_template_string
    from flask_babel import gettext as flask_gettext

    from service.web import i18n

    app = Flask(__name__)
    app.secret_key = "test"
    i18n.init_app(app)
    with app.test_request_context("/"):
        assert flask_gettext("Sign out") == "Uitloggen"
        assert i18n.error_message("too_long", {"limit": 500}) == "De tekst is te lang (maximaal 500 tekens)."
        rendered = render_template_string("{{ _('Welcome, %(name)s', name='Anna') }} · "
                                          "{{ ngettext('%(num)d deleted', '%(num)d deleted', 4) }}")
        assert rendered == "Welkom, Anna · 4 verwijderd"
