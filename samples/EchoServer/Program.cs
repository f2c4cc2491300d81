// DTLS echo server: one UDP socket, any number of peers, through OpenSsl.Dtls's DtlsListener.
// Echoes every datagram back to its sender. Prints "listening on HOST:PORT" on stdout when ready;
// Ctrl+C or SIGTERM sends close_notify to every peer and exits 0. Bad arguments exit 2.
using System.CommandLine;
using OpenSslDtls.Samples;
using OpenSslDtls.Samples.EchoServer;

Option<string> host = new("--host") { HelpName = "ADDR", Description = "Address to bind (IPv4 or IPv6).", DefaultValueFactory = _ => "127.0.0.1" };
Option<int> port = new Option<int>("--port") { HelpName = "N", Description = "UDP port; 0 picks a free one.", DefaultValueFactory = _ => 4433 }.InRange(0, 65535);
Option<string?> cert = new("--cert") { HelpName = "FILE", Description = "Certificate chain (PEM), with --key. Default: an ephemeral self-signed certificate." };
Option<string?> key = new("--key") { HelpName = "FILE", Description = "Private key (PEM or DER) for --cert." };
Option<string?> ca = new("--ca") { HelpName = "FILE", Description = "Ask clients for a certificate and verify it against the CAs in this PEM file." };
Option<bool> requireClientCert = new("--require-client-cert") { Description = "Fail the handshake of clients without a valid certificate." };
Option<string[]> psk = new("--psk") { HelpName = "IDENTITY:HEXKEY", Description = "Accept this pre-shared key; repeat for several clients. IDENTITY is text, or hex:BYTES for any bytes. Alone, the server has no certificate.", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false };
Option<string?> pskHint = new("--psk-hint") { HelpName = "TEXT", Description = "Identity hint sent to PSK clients (needs --psk)." };
Option<string?> cipher = new("--cipher") { HelpName = "LIST", Description = "OpenSSL cipher list (default: AEAD suites only; see README)." };
Option<bool> legacyCiphers = new("--allow-legacy-ciphers") { Description = "Let --cipher enable CBC, NULL, RSA or DHE suites (InsecureAllowLegacyCipherSuites)." };
Option<string?> srtp = new("--srtp") { HelpName = "PROFILES", Description = "DTLS-SRTP profiles, P1:P2 (OpenSSL names); prints 'srtp PROFILE CLIENT_KEY CLIENT_SALT SERVER_KEY SERVER_SALT' per session." };
Option<string?> keylog = new("--keylog") { HelpName = "FILE", Description = "Append the session secrets to FILE (NSS key log format, for Wireshark/tshark)." };
Option<bool> noTickets = new("--no-tickets") { Description = "Issue no session tickets (resumption by session ID only)." };
Option<int> mtu = new Option<int>("--mtu") { HelpName = "N", Description = "Path MTU in bytes (IP and UDP headers included).", DefaultValueFactory = _ => 1200 }.InRange(256, 65535);
Option<string?> alpn = new("--alpn") { HelpName = "P1,P2", Description = "ALPN protocols in order of preference, comma-separated." };
Option<int> maxSessions = new Option<int>("--max-sessions") { HelpName = "N", Description = "Largest number of concurrent sessions (0: the listener's default)." }.InRange(0, 1_000_000);
Option<int> idleTimeout = new Option<int>("--idle-timeout") { HelpName = "SECONDS", Description = "Seconds without a datagram before a session is closed (0: the listener's default)." }.InRange(0, 86_400);
Option<int> receiveLoops = new Option<int>("--receive-loops") { HelpName = "N", Description = "Receive loops (on Linux, N sockets sharing the port with SO_REUSEPORT) to use more cores.", DefaultValueFactory = _ => 1 }.InRange(1, 64);
Option<string?> certOut = new("--cert-out") { HelpName = "FILE", Description = "Write the server certificate (PEM) here, so that clients can trust it with --ca." };
Option<string?> cookieSecretFile = new("--cookie-secret-file") { HelpName = "FILE", Description = "HelloVerifyRequest cookie secret shared by a fleet: 32+ bytes as hex lines (# comments, base64: lines) or a raw 32-64 byte file; mode 600 or 400 (see docs/deployment.md). Reloaded when it changes; the previous secret keeps verifying until the next change." };
Option<string?> ticketKeysFile = new("--ticket-keys-file") { HelpName = "FILE", Description = "Session-ticket keys shared by a fleet: 80-byte keys (16 name, 32 HMAC, 32 AES), newest first, as hex lines or raw; mode 600 or 400. Reloaded when it changes; the previous keys keep decrypting until the next change." };
Option<bool> verbose = new("--verbose") { Description = "Log the listener's debug messages too." };

RootCommand root = new("DTLS echo server over OpenSSL (OpenSsl.Dtls sample).")
{
    host, port, cert, key, ca, requireClientCert, psk, pskHint, cipher, legacyCiphers, srtp, keylog, noTickets, mtu, alpn, maxSessions, idleTimeout, receiveLoops, certOut, cookieSecretFile, ticketKeysFile, verbose,
};

root.SetAction((parsed, cancellationToken) => EchoServerHost.RunAsync(
    new EchoServerSettings
    {
        Host = parsed.GetRequiredValue(host),
        Port = parsed.GetValue(port),
        CertificateFile = parsed.GetValue(cert),
        KeyFile = parsed.GetValue(key),
        CaFile = parsed.GetValue(ca),
        RequireClientCertificate = parsed.GetValue(requireClientCert),
        Psk = parsed.GetValue(psk) ?? [],
        PskHint = parsed.GetValue(pskHint),
        CipherList = parsed.GetValue(cipher),
        AllowLegacyCiphers = parsed.GetValue(legacyCiphers),
        Srtp = parsed.GetValue(srtp),
        KeyLogFile = parsed.GetValue(keylog),
        NoTickets = parsed.GetValue(noTickets),
        Mtu = parsed.GetValue(mtu),
        Alpn = parsed.GetValue(alpn),
        MaxSessions = parsed.GetValue(maxSessions),
        IdleTimeout = TimeSpan.FromSeconds(parsed.GetValue(idleTimeout)),
        ReceiveLoops = parsed.GetValue(receiveLoops),
        CertificateOutputFile = parsed.GetValue(certOut),
        CookieSecretFile = parsed.GetValue(cookieSecretFile),
        TicketKeysFile = parsed.GetValue(ticketKeysFile),
        Verbose = parsed.GetValue(verbose),
    },
    cancellationToken));

ParseResult parseResult = root.Parse(args);
if (parseResult.Errors.Count > 0)
{
    return SampleArguments.ReportParseErrors(parseResult);
}

// The server handles SIGINT/SIGTERM itself (a clean close_notify to every peer, then exit 0);
// System.CommandLine's handler would force exit code 130/143 after a 2 s grace period.
return await SampleArguments.InvokeAsync(parseResult, new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
