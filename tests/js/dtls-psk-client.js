// node-dtls-client as a PSK client: connects to --host/--port with --identity and --key (an ASCII
// key, as node-dtls-client takes it), offering only --cipher if given, sends --message and prints
// {"ok":true,"echo":"<text>"} once the echo is back, or {"ok":false,"error":...}.
"use strict";
const { dtls } = require("node-dtls-client");
const { parseArgs, finish, deadline } = require("./args");

const args = parseArgs(process.argv.slice(2));
deadline(Number(args.timeout ?? 15000), "handshake and echo");
const options = {
    type: "udp4",
    address: args.host ?? "127.0.0.1",
    port: Number(args.port),
    psk: { [args.identity]: args.key },
    timeout: 5000,
};
if (args.cipher) {
    options.ciphers = [args.cipher];
}

const socket = dtls.createSocket(options)
    .on("connected", () => socket.send(Buffer.from(args.message ?? "hello")))
    .on("message", (data) => {
        const echo = data.toString();
        socket.close(() => finish({ ok: true, echo }));
    })
    .on("error", (e) => finish({ ok: false, error: String(e && e.message || e) }));
