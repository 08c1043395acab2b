#!/usr/bin/env bash
# Installs the real mail servers used by the end-to-end tests and the demo: Dovecot (IMAP + LMTP),
# Postfix and openssl, from Debian's packages, and the headless browser of the account-linking
# test (chromium and chromium-driver, driven over WebDriver). Run as root; safe to run again (idempotent).
# No system daemon is started: a temporary policy-rc.d refuses every service start while the
# packages install, and Postfix's debconf question is answered "No configuration" beforehand.
# scripts/stack-up.sh then runs private instances of both with their own configuration.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "stack-install.sh: must run as root (it uses apt-get)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive

policy=/usr/sbin/policy-rc.d
backup=""
if [ -e "$policy" ]; then
    # Keep whatever the machine had (Docker images ship one) and put it back afterwards.
    backup="$(mktemp /usr/sbin/policy-rc.d.rb-backup.XXXXXX)"
    cp -p "$policy" "$backup"
fi
printf '#!/bin/sh\n# temporary, from reject-bridge scripts/stack-install.sh: start no daemons\nexit 101\n' > "$policy"
chmod 755 "$policy"
cleanup() {
    if [ -n "$backup" ]; then mv -f "$backup" "$policy"; else rm -f "$policy"; fi
}
trap cleanup EXIT

echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections

apt-get update
apt-get install -y --no-install-recommends dovecot-imapd dovecot-lmtpd postfix openssl \
    chromium chromium-driver

for bin in dovecot doveadm postfix postconf openssl chromium chromedriver; do
    command -v "$bin" >/dev/null || { echo "stack-install.sh: $bin missing after install" >&2; exit 1; }
done
echo "stack-install.sh: dovecot $(dovecot --version | cut -d' ' -f1), postfix $(postconf -d -h mail_version 2>/dev/null), $(openssl version)"
