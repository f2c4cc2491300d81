// node-coap-client (over node-dtls-client) against a coaps:// server: a CoAP ping, then each
// --request "METHOD PATH [non]" in order on one DTLS session. Prints one JSON line:
// {"ok":true,"ping":true,"responses":[{"request":..,"code":"2.05","format":0,"payload":".."}]}.
"use strict";
const { CoapClient } = require("node-coap-client");
const { parseArgs, finish, deadline } = require("./args");

const args = parseArgs(process.argv.slice(2));
deadline(Number(args.timeout ?? 30000), "CoAP requests");
const host = args.host ?? "127.0.0.1";
const origin = `coaps://${host.includes(":") ? `[${host}]` : host}:${args.port}`; // IPv6 literals in brackets (RFC 3986)
const security = { psk: { [args.identity]: args.key } };
if (args.cipher) {
    security.ciphers = [args.cipher]; // passed through to node-dtls-client's createSocket options
}
CoapClient.setSecurityParams(host, security);

(async () => {
    const responses = [];
    const ping = await CoapClient.ping(origin, 5000);
    for (const request of [].concat(args.request ?? [])) {
        const [method, path, non] = request.split(" ");
        const response = await CoapClient.request(`${origin}${path}`, method, undefined, { keepAlive: true, confirmable: non !== "non" });
        responses.push({
            request,
            code: response.code.toString(),
            format: response.format ?? null,
            payload: response.payload ? response.payload.toString() : "",
        });
    }
    CoapClient.reset();
    finish({ ok: true, ping, responses });
})().catch((e) => finish({ ok: false, error: String(e && e.message || e) }));
