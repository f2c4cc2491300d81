# Sourced by .ci/run (also runnable alone: bash .ci/peers-fleet.sh). The load balancer of
# tests/OpenSslDtls.Fleet.Tests (issue 15, docs/deployment.md): nginx with its stream module from
# Debian (nginx, libnginx-mod-stream), run by the tests as a foreground process on loopback with a
# generated config, never as the system service. Installed only when missing; the version is printed.
(
    set -euo pipefail
    fleet_missing=()
    command -v nginx >/dev/null || fleet_missing+=(nginx)
    [[ -f /usr/lib/nginx/modules/ngx_stream_module.so ]] || fleet_missing+=(libnginx-mod-stream)
    if ((${#fleet_missing[@]})); then
        echo "ci: installing ${fleet_missing[*]} (the fleet tests' UDP load balancer)"
        sudo=""
        [[ $(id -u) -eq 0 ]] || sudo="sudo"
        $sudo apt-get update
        # The package's postinst must not start nginx as a system service (port 80): invoke-rc.d obeys
        # policy-rc.d's exit code 101 ("action forbidden"), set only for this install when none exists.
        policy=""
        if [[ ! -e /usr/sbin/policy-rc.d ]]; then
            policy=/usr/sbin/policy-rc.d
            printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
            $sudo chmod 755 "$policy"
        fi
        status=0
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${fleet_missing[@]}" || status=$?
        [[ -z $policy ]] || $sudo rm -f "$policy"
        ((status == 0)) || exit "$status"
    fi
    echo "ci: peer nginx $(dpkg-query -W -f='${Version}' nginx 2>/dev/null || echo '?')" \
        "($(nginx -v 2>&1 | sed 's/^nginx version: //')), libnginx-mod-stream $(dpkg-query -W -f='${Version}' libnginx-mod-stream 2>/dev/null || echo '?')"
)
