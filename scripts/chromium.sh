#!/bin/sh
# Installs headless Chromium and its WebDriver (Debian `chromium` + `chromium-driver`) when
# missing, then exports and prints the variables the preflight-approval browser tests read:
#
#   . scripts/chromium.sh          # sets PREFLIGHT_CHROMEDRIVER and PREFLIGHT_CHROMIUM
#   eval "$(sh scripts/chromium.sh)"
#
# Idempotent: when both programs are installed it only prints. Safe to source: it does not
# change the calling shell's options and returns (not exits) on failure.

preflight_chromium_setup() {
    if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
        if [ "$(id -u)" != 0 ]; then
            preflight_sudo=sudo
        else
            preflight_sudo=
        fi
        echo "installing chromium and chromium-driver with apt-get" >&2
        DEBIAN_FRONTEND=noninteractive $preflight_sudo apt-get update -qq >&2 || return 1
        DEBIAN_FRONTEND=noninteractive $preflight_sudo apt-get install -y -qq \
            --no-install-recommends chromium chromium-driver fonts-dejavu-core >&2 || return 1
    fi
    PREFLIGHT_CHROMEDRIVER="$(command -v chromedriver)" || return 1
    PREFLIGHT_CHROMIUM="$(command -v chromium)" || return 1
    export PREFLIGHT_CHROMEDRIVER PREFLIGHT_CHROMIUM
    echo "export PREFLIGHT_CHROMEDRIVER=$PREFLIGHT_CHROMEDRIVER"
    echo "export PREFLIGHT_CHROMIUM=$PREFLIGHT_CHROMIUM"
}

if ! preflight_chromium_setup; then
    echo "scripts/chromium.sh: could not install Chromium and chromedriver" >&2
    unset -f preflight_chromium_setup
    # `return` when sourced, `exit` when run.
    return 1 2>/dev/null || exit 1
fi
unset -f preflight_chromium_setup
