// werift-dtls (ECDHE-ECDSA/RSA with AES-128-GCM, DTLS-SRTP) as --role client or server over a
// UDP socket on 127.0.0.1. The server prints {"listening":PORT} first. After the handshake the
// client sends --message and the server echoes it; each prints one JSON line with the echo, the
// SRTP profile, the exported "EXTRACTOR-dtls_srtp" keying material (--export-length bytes, hex)
// and the SHA-256 of the peer's certificate (DER, hex).
// werift-dtls 0.5.8's package.json "main" names a missing file: load lib/dtls/src directly.
"use strict";
const dgram = require("dgram");
const crypto = require("crypto");
const fs = require("fs");
const { DtlsClient, DtlsServer } = require("werift-dtls/lib/dtls/src");
const { parseArgs, finish, deadline } = require("./args");

const args = parseArgs(process.argv.slice(2));
deadline(Number(args.timeout ?? 20000), `${args.role} handshake and echo`);

/** werift's Transport interface over a dgram socket bound to loopback. */
function transport(socket, remote) {
    const t = {
        type: "udp",
        closed: false,
        onData: () => {},
        get address() { return socket.address(); },
        send: async (data, addr) => {
            const [host, port] = addr ?? remote;
            socket.send(data, port, host);
        },
        close: async () => { t.closed = true; socket.close(); },
    };
    socket.on("message", (data, info) => {
        remote = remote ?? [info.address, info.port];
        t.onData(data, [info.address, info.port]);
    });
    return t;
}

function result(dtls, echo) {
    const length = Number(args["export-length"] ?? 0);
    const peer = dtls.remoteCertificate;
    return {
        ok: true,
        echo,
        srtpProfile: dtls.srtp.srtpProfile ?? null,
        keyingMaterial: length > 0 ? dtls.exportKeyingMaterial("EXTRACTOR-dtls_srtp", length).toString("hex") : null,
        peerCertificateSha256: peer ? crypto.createHash("sha256").update(peer).digest("hex") : null,
    };
}

const socket = dgram.createSocket("udp4");
socket.on("error", (e) => finish({ ok: false, error: String(e.message) }));
socket.bind(0, "127.0.0.1", () => {
    const options = {
        cert: fs.readFileSync(args.cert, "utf8"),
        key: fs.readFileSync(args.key, "utf8"),
        srtpProfiles: args.srtp ? String(args.srtp).split(",").map(Number) : undefined,
        certificateRequest: args["request-client-cert"] === "true",
        // werift needs the signature of its own key spelled out: SHA-256 with ECDSA (3) or RSA (1).
        signatureHash: { hash: 4, signature: args.signature === "rsa" ? 1 : 3 },
    };
    if (args.role === "server") {
        const server = new DtlsServer({ ...options, transport: transport(socket) });
        server.onData.subscribe((data) => {
            server.send(data).then(() => finish(result(server, data.toString())));
        });
        server.onError.subscribe((e) => finish({ ok: false, error: String(e && e.message || e) }));
        process.stdout.write(JSON.stringify({ listening: socket.address().port }) + "\n");
    } else {
        const client = new DtlsClient({ ...options, transport: transport(socket, ["127.0.0.1", Number(args.port)]) });
        client.onConnect.subscribe(() => client.send(Buffer.from(args.message ?? "hello")));
        client.onData.subscribe((data) => finish(result(client, data.toString())));
        client.onError.subscribe((e) => finish({ ok: false, error: String(e && e.message || e) }));
        client.connect().catch((e) => finish({ ok: false, error: String(e && e.message || e) }));
    }
});
