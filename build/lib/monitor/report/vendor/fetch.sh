#!/usr/bin/env bash
# Refresh the vendored Vega and Vega-Lite browser builds from the npm registry:
#   monitor/report/vendor/fetch.sh 6.4.0 6.5.0
# then update MANIFEST.json with the versions and sha256 this prints.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
vega="${1:?vega version}" vega_lite="${2:?vega-lite version}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "vega@$vega" "vega-lite@$vega_lite" >/dev/null
tar xzf "vega-$vega.tgz" && cp package/build/vega.min.js package/LICENSE "$here/" && rm -r package
tar xzf "vega-lite-$vega_lite.tgz" && cp package/build/vega-lite.min.js "$here/"
sha256sum "$here"/*.min.js
