#!/usr/bin/env bash
# Collect every text marked for translation into messages.pot and merge it into each
# language's messages.po. New texts arrive with an empty msgstr: write the Danish in
# da/LC_MESSAGES/messages.po (tests/web/test_web_language.py fails until every one has it).
# English needs no translation (the msgids are English). Nothing is compiled here: the
# application compiles the .po files when it starts (webentry/i18n.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
# The finding catalogue's titles (the 4th argument of each Code(...)) are shown on the entry
# screen too, so they are collected from validators/catalogue.py as well.
pybabel -q extract -F webentry/babel.cfg -k _l -k lazy_gettext -k Code:4 --sort-output --add-location=file \
  --project=mgr-ingest --msgid-bugs-address=- --copyright-holder=- \
  -o webentry/translations/messages.pot webentry validators/catalogue.py
for lang in da en; do
  po=webentry/translations/$lang/LC_MESSAGES/messages.po
  if [ -f "$po" ]; then
    pybabel -q update --no-fuzzy-matching --ignore-obsolete -l "$lang" -i webentry/translations/messages.pot -o "$po"
  else
    pybabel -q init -l "$lang" -i webentry/translations/messages.pot -o "$po"
  fi
done
