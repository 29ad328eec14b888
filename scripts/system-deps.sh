#!/usr/bin/env bash
# Debian packages the tests drive for real: nginx (the generated proxy config is run, not just
# parsed) and chromium (the web UI's end-to-end tests; Playwright drives /usr/bin/chromium and never
# downloads a browser of its own). `make test` runs this first, so that no such test is skipped.
#
# Installs what is missing when it runs as root or sudo is available; otherwise it exits 1, before
# any test runs, with one line naming the missing packages and the command that installs them (the
# line the test suite fails with, tests/conftest.py). BERTH_TEST_SKIP_NGINX=1 and
# BERTH_TEST_SKIP_BROWSER=1 opt out of those tests, and this script then neither checks nor installs
# their package. NGINX_PATHS and CHROMIUM_PATH say where the programs are looked for (for its tests).
set -euo pipefail

NGINX_PATHS=${NGINX_PATHS:-/usr/sbin/nginx /usr/local/sbin/nginx}
CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}

opted_out() { [ -n "${!1:-}" ] && [ "${!1}" != "0" ]; }

has_nginx() {
    command -v nginx >/dev/null 2>&1 && return 0
    local path
    for path in $NGINX_PATHS; do [ -f "$path" ] && return 0; done
    return 1
}

has_chromium() { [ -x "$CHROMIUM_PATH" ]; }

missing_packages() {
    missing=()
    opt_outs=()
    if ! opted_out BERTH_TEST_SKIP_NGINX && ! has_nginx; then
        missing+=(nginx)
        opt_outs+=(BERTH_TEST_SKIP_NGINX=1)
    fi
    if ! opted_out BERTH_TEST_SKIP_BROWSER && ! has_chromium; then
        missing+=(chromium)
        opt_outs+=(BERTH_TEST_SKIP_BROWSER=1)
    fi
}

explain() {
    echo "missing ${missing[*]}, which the tests drive: install with \`sudo apt-get install -y ${missing[*]}\`" \
        "or opt out with ${opt_outs[*]}" >&2
    exit 1
}

for variable in BERTH_TEST_SKIP_NGINX BERTH_TEST_SKIP_BROWSER; do
    if opted_out "$variable"; then echo "system-deps: $variable=1 is set: not installing its package"; fi
done

missing_packages
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    explain  # neither root nor sudo: say what to install, and stop before any test runs
fi
if ! command -v apt-get >/dev/null 2>&1; then
    explain
fi
echo "system-deps: installing ${missing[*]} (Debian packages the tests drive)"
"${SUDO[@]}" apt-get update -qq || explain
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null || explain
missing_packages
[ ${#missing[@]} -eq 0 ] || explain
