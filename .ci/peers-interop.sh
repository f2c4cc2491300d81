# Sourced by .ci/run: the interop matrix's peers (issue 10, tests/OpenSslDtls.Interop.Tests).
# Installs what is missing (Debian 12 packages: libmbedtls-dev for native/mbedtls, tshark for the key-log
# rows; openssl and gnutls-bin come from .ci/run's own list), builds the mbedTLS peer, and prints the
# version of every peer the matrix runs, so a CI log says what was proven against what.
interop_missing=()
dpkg-query -W -f='${Status}' libmbedtls-dev 2>/dev/null | grep -q 'install ok installed' || interop_missing+=(libmbedtls-dev)
command -v tshark >/dev/null || interop_missing+=(tshark)
command -v stdbuf >/dev/null || interop_missing+=(coreutils)
if ((${#interop_missing[@]})); then
    echo "ci: installing interop peers: ${interop_missing[*]}"
    interop_sudo=""
    [[ $(id -u) -eq 0 ]] || interop_sudo="sudo"
    $interop_sudo apt-get update
    # tshark's postinst asks whether non-root users may capture: keep Debian's default (no) without asking.
    DEBIAN_FRONTEND=noninteractive $interop_sudo apt-get install -y --no-install-recommends "${interop_missing[@]}"
fi
bash native/mbedtls/build.sh >/dev/null
echo "ci: interop peers: $(openssl version)"
echo "ci: interop peers: $(gnutls-cli --version | head -n 1), gnutls-serv from the same package"
echo "ci: interop peers: $(native/mbedtls/build/mbedtls-dtls-peer --version) (libmbedtls-dev $(dpkg-query -W -f='${Version}' libmbedtls-dev))"
echo "ci: interop peers: $(tshark --version 2>/dev/null | head -n 1)"
echo "ci: interop peers: BouncyCastle.Cryptography $(grep -o 'BouncyCastle.Cryptography" Version="[^"]*' Directory.Packages.props | cut -d'"' -f3) (NuGet, pinned)"
unset interop_missing interop_sudo
