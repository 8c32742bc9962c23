#!/usr/bin/env bash
# Installs what building and testing Switchboard needs, idempotently: each step checks first and
# skips what is already there, so a second run takes seconds. Sourced by build.sh, run.sh, test.sh.
#
#   setup_build_tools     wasm32 target, Trunk, wasm-bindgen CLI, npm build tools (wasm-opt)
#   setup_browser_tests   Debian's Chromium and the Playwright test runner
#   setup_contract_tests  Schemathesis (from PyPI, in a virtualenv under target/tools)
#
# Versions are pinned here and nowhere else (wasm-bindgen's comes from Cargo.lock).

TRUNK_VERSION="0.21.14"
SCHEMATHESIS_VERSION="4.32.5"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

# `cargo install` of one exact version, skipped when `$bin --version` already reports it.
cargo_install_pinned() {
  local crate="$1" bin="$2" version="$3"
  shift 3
  if "$bin" --version 2>/dev/null | grep -qF " $version"; then
    return
  fi
  log "installing $crate $version (a one-off; a few minutes on 2 cores)"
  cargo install "$crate" --version "$version" --force "$@"
}

# npm packages of a folder, reinstalled only when its lockfile changed since the last install.
npm_install_locked() {
  local dir="$1"
  local stamp="$dir/node_modules/.switchboard-installed"
  if [[ -f "$stamp" && "$stamp" -nt "$dir/package-lock.json" ]]; then
    return
  fi
  log "installing npm packages in ${dir#"$ROOT"/}"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  touch "$stamp"
}

wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

setup_build_tools() {
  command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }
  command -v npm >/dev/null || { echo "npm not found: install Node.js first" >&2; exit 1; }
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  cargo_install_pinned trunk trunk "$TRUNK_VERSION" --locked
  # Not --locked: the CLI's own lockfile names a crate version the registry no longer has.
  cargo_install_pinned wasm-bindgen-cli wasm-bindgen "$(wasm_bindgen_version)"
  npm_install_locked "$ROOT"
}

# Runs a command as root, through sudo when we are not root.
as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

setup_browser_tests() {
  if ! command -v chromium >/dev/null; then
    log "installing Debian's chromium for the browser tests"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  npm_install_locked "$ROOT/end2end"
}

# The schema-driven API fuzzer, in a virtualenv of its own; sets $ST to its command.
setup_contract_tests() {
  local venv="$ROOT/target/tools/schemathesis"
  ST="$venv/bin/st"
  if "$ST" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
    return
  fi
  command -v python3 >/dev/null || { echo "python3 not found: install Python 3.10+ first" >&2; exit 1; }
  log "installing Schemathesis $SCHEMATHESIS_VERSION (a one-off)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
}
