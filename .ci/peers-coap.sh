# Sourced by .ci/run (also runnable alone: bash .ci/peers-coap.sh). The peers of
# tests/OpenSslDtls.Coap.Tests: libcoap's coap-client/coap-server (Debian's libcoap3-bin, built
# against OpenSSL and GnuTLS) and the npm packages pinned in tests/js/package-lock.json
# (node-dtls-client, node-coap-client, werift-dtls), installed into tests/js/node_modules.
# Debian packages are installed only when missing; every peer's version is printed.
(
    set -euo pipefail
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    coap_missing=()
    command -v coap-client-openssl >/dev/null && command -v coap-client-gnutls >/dev/null || coap_missing+=(libcoap3-bin)
    command -v node >/dev/null || coap_missing+=(nodejs)
    command -v npm >/dev/null || coap_missing+=(npm)
    if ((${#coap_missing[@]})); then
        echo "ci: installing ${coap_missing[*]} (CoAP and JavaScript peers)"
        sudo=""
        [[ $(id -u) -eq 0 ]] || sudo="sudo"
        $sudo apt-get update
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${coap_missing[@]}"
    fi

    # The lock file's versions, into tests/js/node_modules. Not `npm ci`: it insists that the lock list
    # node-aead-crypto's prebuilt addons for every platform, and the registry served here has only
    # linux-x64's, so the lock cannot list them (node-dtls-client needs none of them on Node >= 10,
    # which has AES-GCM/CCM built in). `npm install --no-save` with the lock present installs the
    # same pinned tree without rewriting the lock; `npm ls` then fails on any mismatch.
    npm install --prefix tests/js --no-save --no-audit --no-fund --loglevel=error
    npm ls --prefix tests/js >/dev/null

    echo "ci: peer libcoap3-bin $(dpkg-query -W -f='${Version}' libcoap3-bin 2>/dev/null || echo '?')" \
        "($(coap-client-openssl -h 2>&1 | grep -m1 -o 'v[0-9.]*'); builds: openssl, gnutls)"
    echo "ci: peer node $(node --version), npm $(npm --version)"
    for package in node-dtls-client node-coap-client werift-dtls; do
        echo "ci: peer $package $(node -p "require('./tests/js/node_modules/$package/package.json').version")"
    done
)
