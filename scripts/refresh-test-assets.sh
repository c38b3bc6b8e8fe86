#!/usr/bin/env bash
# Refresh the JavaScript the browser tests use but the town never gets (tests/web/vendor/), from the
# npm registry at the pinned version below, with its licence. axe-core checks every page for
# accessibility violations in tests/web/test_accessibility.py; it is not shipped in the Python package.
# Run by a maintainer when the version changes; the files are committed.
set -euo pipefail
AXE_VERSION=4.14.1   # axe-core (MPL-2.0): the accessibility rules engine

cd "$(dirname "$0")/.."
vendor=tests/web/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null && tar xzf "axe-core-$AXE_VERSION.tgz")
rm -rf "$vendor/axe-core"
mkdir -p "$vendor/axe-core"
cp "$work/package/axe.min.js" "$work/package/LICENSE" "$vendor/axe-core/"
printf 'axe-core %s\n' "$AXE_VERSION" > "$vendor/VERSIONS"
echo "refreshed $vendor: axe-core $AXE_VERSION"
