#!/usr/bin/env bash
# Refresh the JavaScript libraries the web pages use (toshi/web/static/vendor/), from the npm registry
# at the pinned versions below, with their licences. Run by a maintainer when a version changes; the
# files are committed and shipped inside the Python package (nothing is fetched at run time).
set -euo pipefail
MAPLIBRE_VERSION=5.24.1   # maplibre-gl: its CSP build (no blob: workers, no eval)
UPLOT_VERSION=1.6.32      # uplot: small time-series charts

cd "$(dirname "$0")/.."
vendor=toshi/web/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "maplibre-gl@$MAPLIBRE_VERSION" "uplot@$UPLOT_VERSION" >/dev/null)
for tarball in "$work"/*.tgz; do
    mkdir -p "$work/$(basename "$tarball" .tgz)"
    tar xzf "$tarball" -C "$work/$(basename "$tarball" .tgz)"
done

maplibre="$work/maplibre-gl-$MAPLIBRE_VERSION/package"
uplot="$work/uplot-$UPLOT_VERSION/package"
rm -rf "$vendor/maplibre-gl" "$vendor/uplot"
mkdir -p "$vendor/maplibre-gl" "$vendor/uplot"
cp "$maplibre/dist/maplibre-gl-csp.js" "$maplibre/dist/maplibre-gl-csp-worker.js" \
   "$maplibre/dist/maplibre-gl.css" "$vendor/maplibre-gl/"
cp "$maplibre/LICENSE.txt" "$vendor/maplibre-gl/LICENSE.txt"
cp "$uplot/dist/uPlot.iife.min.js" "$uplot/dist/uPlot.min.css" "$vendor/uplot/"
cp "$uplot/LICENSE" "$vendor/uplot/LICENSE"
# the source-map comments point at files we do not ship
sed -i '/^\/\/# sourceMappingURL=/d' "$vendor"/maplibre-gl/*.js "$vendor"/uplot/*.js
printf 'maplibre-gl %s\nuplot %s\n' "$MAPLIBRE_VERSION" "$UPLOT_VERSION" > "$vendor/VERSIONS"
echo "refreshed $vendor: maplibre-gl $MAPLIBRE_VERSION, uplot $UPLOT_VERSION"
