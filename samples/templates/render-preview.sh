#!/usr/bin/env bash
# Renders one dossier through the sample template (offline generator, no AI key) and converts its first
# page to samples/templates/cabinet-exemple-page1.png, the picture the README shows. Needs Debian's
# LibreOffice and poppler: apt-get install --no-install-recommends libreoffice-writer-nogui poppler-utils
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The incremental build leaves dist/ in place (npm run build would empty it under running tests).
npx tsc -p tsconfig.build.json --incremental
node dist/cli/dossiers.js --consultants samples/consultants.csv --jobs samples/jobs.csv --out "$work/out" \
  --provider offline --top 1 --template samples/templates/cabinet-exemple.docx
docx=$(find "$work/out/job-2026-01" -name '*.docx' | head -n 1)
# Its own profile directory, so a LibreOffice already open elsewhere does not take the conversion.
soffice -env:UserInstallation="file://$work/profile" --headless --convert-to pdf --outdir "$work" "$docx" >/dev/null
pdftoppm -png -r 80 -f 1 -l 1 -singlefile "$work"/*.pdf samples/templates/cabinet-exemple-page1
echo "Wrote samples/templates/cabinet-exemple-page1.png"
