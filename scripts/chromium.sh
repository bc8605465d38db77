#!/bin/sh
# Installs headless Chromium and its WebDriver (Debian `chromium` + `chromium-driver`) when
# missing, then prints the variables the preflight-approval browser tests read.
#
#   . scripts/chromium.sh        # or: eval "$(sh scripts/chromium.sh)"
#
# Idempotent: does nothing but print when both programs are already installed.
set -e

need_install=0
command -v chromium >/dev/null 2>&1 || need_install=1
command -v chromedriver >/dev/null 2>&1 || need_install=1

if [ "$need_install" = 1 ]; then
    if [ "$(id -u)" != 0 ]; then
        SUDO=sudo
    else
        SUDO=
    fi
    echo "installing chromium and chromium-driver with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        chromium chromium-driver fonts-dejavu-core >&2
fi

PREFLIGHT_CHROMEDRIVER="$(command -v chromedriver)"
PREFLIGHT_CHROMIUM="$(command -v chromium)"
export PREFLIGHT_CHROMEDRIVER PREFLIGHT_CHROMIUM
echo "export PREFLIGHT_CHROMEDRIVER=$PREFLIGHT_CHROMEDRIVER"
echo "export PREFLIGHT_CHROMIUM=$PREFLIGHT_CHROMIUM"
