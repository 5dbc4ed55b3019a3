#!/usr/bin/env bash
# Takes docs/team-page.png: the FAQ team's page after an editor's save of the real fixture
# (../shared/fixtures), as Debian's chromium renders it headless. Needs a built faqsync
# (swift build) and python3-openpyxl (scripts/install-deps.sh installs both tools' packages).
set -euo pipefail
cd "$(dirname "$0")/.."
faqsync=${FAQSYNC_BIN:-.build/debug/faqsync}
fixture=${FAQSYNC_FIXTURES:-../shared/fixtures}/vtb-belarus-faq.xlsx
work=$(mktemp -d)
trap 'kill "${serve:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
files=(--faq "$work/faq.xlsx" --db "$work/store.db" --snapshot "$work/faqsync.snapshot")

cp "$fixture" "$work/faq.xlsx"
chmod u+w "$work/faq.xlsx"
"$faqsync" sync "${files[@]}" >/dev/null
# The editor's save: one answer changed, one row deleted, a new question, a row without an answer.
/usr/bin/python3 - "$work/faq.xlsx" <<'PY'
import sys, openpyxl
path = sys.argv[1]
book = openpyxl.load_workbook(path)
sheet = book.worksheets[0]
header = [c.value for c in sheet[1]]
question, answer = header.index("Пример вопроса") + 1, header.index("Шаблонный ответ") + 1
sheet.cell(row=6, column=answer).value = str(sheet.cell(row=6, column=answer).value) + " Обновлено: приложение доступно и в RuStore."
sheet.delete_rows(11)
row = sheet.max_row + 1
for column, value in enumerate(header, start=1):
    sheet.cell(row=row, column=column).value = sheet.cell(row=row - 1, column=column).value
sheet.cell(row=row, column=question).value = "Можно ли оформить карту MORE для ребёнка?"
sheet.cell(row=row, column=answer).value = "Да, с 14 лет, в любом отделении банка вместе с законным представителем."
sheet.cell(row=row + 1, column=question).value = "Как закрыть вклад досрочно?"
book.save(path)
PY
"$faqsync" sync "${files[@]}" >/dev/null || true
"$faqsync" serve --port 18188 "${files[@]}" >"$work/serve.log" 2>&1 &
serve=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null http://127.0.0.1:18188/healthz && break; sleep 0.1; done
query=$(python3 -c 'import urllib.parse; print(urllib.parse.quote("как открыть вклад онлайн"))')
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/profile" \
    --accept-lang=ru-RU,ru --window-size=1200,1900 --screenshot="$PWD/docs/team-page.png" \
    "http://127.0.0.1:18188/?q=$query&mode=hybrid" 2>/dev/null
echo "wrote docs/team-page.png"
