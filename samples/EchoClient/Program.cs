// DTLS echo client: the classic blog client on OpenSsl.Dtls. Connects, sends the first 4 KB of a
// file (or a message) split into datagrams that fit the session, and checks that every byte comes
// back. Exit codes: 0 every echo matched, 1 runtime failure, 2 bad arguments (native/README.md).
using System.CommandLine;
using OpenSslDtls.Samples;
using OpenSslDtls.Samples.EchoClient;

Option<string> host = new("--host") { HelpName = "ADDR", Description = "Server address or host name.", DefaultValueFactory = _ => "127.0.0.1" };
Option<int> port = new Option<int>("--port") { HelpName = "N", Description = "Server UDP port.", DefaultValueFactory = _ => 4433 }.InRange(1, 65535);
Option<string?> file = new("--file") { HelpName = "FILE", Description = "Send the first 4096 bytes of this file." };
Option<string?> message = new("--message") { HelpName = "TEXT", Description = "Send this text (default \"hello\")." };
Option<string?> ca = new("--ca") { HelpName = "FILE", Description = "Trust the CA certificates in this PEM file instead of the system store." };
Option<bool> insecure = new("--insecure") { Description = "Accept any server certificate (no verification; experiments only)." };
Option<string?> pin = new("--pin") { HelpName = "SHA256HEX", Description = "Accept only a server certificate with this SHA-256 fingerprint (hex, colons optional). Without --server-name the pin alone authenticates the server, whatever names its certificate holds." };
Option<string?> serverName = new("--server-name") { HelpName = "NAME", Description = "Name to send as SNI and check in the certificate (default: --host, except with --pin)." };
Option<string?> cert = new("--cert") { HelpName = "FILE", Description = "Client certificate chain (PEM), with --key." };
Option<string?> key = new("--key") { HelpName = "FILE", Description = "Client private key (PEM or DER), with --cert." };
Option<string?> psk = new("--psk") { HelpName = "IDENTITY:HEXKEY", Description = "Pre-shared key as IDENTITY:HEXKEY; IDENTITY is text, or hex:BYTES for any bytes but 00." };
Option<string?> cipher = new("--cipher") { HelpName = "LIST", Description = "OpenSSL cipher list (default: AEAD suites only; see README)." };
Option<bool> legacyCiphers = new("--allow-legacy-ciphers") { Description = "Let --cipher enable CBC, NULL, RSA or DHE suites (InsecureAllowLegacyCipherSuites)." };
Option<string?> srtp = new("--srtp") { HelpName = "PROFILES", Description = "Offer DTLS-SRTP profiles, P1:P2 (OpenSSL names); prints 'srtp PROFILE CLIENT_KEY CLIENT_SALT SERVER_KEY SERVER_SALT' per connection." };
Option<string?> keylog = new("--keylog") { HelpName = "FILE", Description = "Append the session secrets to FILE (NSS key log format, for Wireshark/tshark)." };
Option<int> connections = new Option<int>("--connections") { HelpName = "N", Description = "Connect N times in a row with one context (resumption); prints 'resumed' for each resumed connection.", DefaultValueFactory = _ => 1 }.InRange(1, 1000);
Option<bool> noEcho = new("--no-echo") { Description = "Send the payload without waiting for an echo (servers that do not echo)." };
Option<int> count = new Option<int>("--count") { HelpName = "N", Description = "How many times to send the payload.", DefaultValueFactory = _ => 1 }.InRange(1, 1_000_000);
Option<int> timeout = new Option<int>("--timeout") { HelpName = "SECONDS", Description = "Seconds allowed for the handshake and for each echo.", DefaultValueFactory = _ => 10 }.InRange(1, 3600);
Option<string?> alpn = new("--alpn") { HelpName = "P", Description = "ALPN protocol(s) to offer, comma-separated." };
Option<int> mtu = new Option<int>("--mtu") { HelpName = "N", Description = "Path MTU in bytes (IP and UDP headers included).", DefaultValueFactory = _ => 1200 }.InRange(256, 65535);

RootCommand root = new("DTLS echo client over OpenSSL (OpenSsl.Dtls sample).")
{
    host, port, file, message, ca, insecure, pin, serverName, cert, key, psk, cipher, legacyCiphers, srtp, keylog, connections, noEcho, count, timeout, alpn, mtu,
};

root.SetAction((parsed, cancellationToken) =>
{
    var settings = new EchoClientSettings
    {
        Host = parsed.GetRequiredValue(host),
        Port = parsed.GetValue(port),
        File = parsed.GetValue(file),
        Message = parsed.GetValue(message),
        CaFile = parsed.GetValue(ca),
        Insecure = parsed.GetValue(insecure),
        Pin = parsed.GetValue(pin),
        ServerName = parsed.GetValue(serverName),
        CertificateFile = parsed.GetValue(cert),
        KeyFile = parsed.GetValue(key),
        Psk = parsed.GetValue(psk),
        CipherList = parsed.GetValue(cipher),
        AllowLegacyCiphers = parsed.GetValue(legacyCiphers),
        Srtp = parsed.GetValue(srtp),
        KeyLogFile = parsed.GetValue(keylog),
        Connections = parsed.GetValue(connections),
        NoEcho = parsed.GetValue(noEcho),
        Count = parsed.GetValue(count),
        Timeout = TimeSpan.FromSeconds(parsed.GetValue(timeout)),
        Alpn = parsed.GetValue(alpn),
        Mtu = parsed.GetValue(mtu),
    };
    return EchoRun.RunAsync(settings, cancellationToken);
});

ParseResult parseResult = root.Parse(args);
if (parseResult.Errors.Count > 0)
{
    return SampleArguments.ReportParseErrors(parseResult);
}

return await SampleArguments.InvokeAsync(parseResult, new InvocationConfiguration { EnableDefaultExceptionHandler = false });
