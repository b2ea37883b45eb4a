#!/usr/bin/env bash
# Vendors the third-party files the browser pages use (internal/web/static)
# from npm, and checks each against the checksum it was reviewed at. Run it
# to reproduce or upgrade them: `make vendor-web`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

redoc_version=2.5.4
redoc_sha256=dcaf76612bc4a3fbcc923a8966dee2f6146a5f32e5ce1b6f02dd60cbbf89500b

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "redoc@$redoc_version" >/dev/null && tar xzf "redoc-$redoc_version.tgz")
echo "$redoc_sha256  $work/package/bundles/redoc.standalone.js" | sha256sum --check --quiet
dest=internal/web/static/docs
cp "$work/package/bundles/redoc.standalone.js" "$dest/redoc.standalone.js"
cp "$work/package/bundles/redoc.standalone.js.LICENSE.txt" "$dest/redoc.standalone.js.LICENSE.txt"
cp "$work/package/LICENSE" "$dest/redoc.LICENSE"
echo "vendored redoc $redoc_version into $dest"
