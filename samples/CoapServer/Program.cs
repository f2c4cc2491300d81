// CoAP over DTLS server (RFC 7252 §9.1) on OpenSsl.Dtls's DtlsListener: GET /.well-known/core,
// /hello and /time; CoAP ping; PSK per device identity and/or certificates. Prints
// "listening on HOST:PORT" on stdout when ready; SIGINT/SIGTERM closes every session and exits 0.
// Bad arguments exit 2. Try it with libcoap: coap-client-openssl -u device1 -k secret coaps://127.0.0.1/hello
using System.CommandLine;
using OpenSslDtls.Samples;
using OpenSslDtls.Samples.CoapServer;

Option<string> host = new("--host") { HelpName = "ADDR", Description = "Address to bind (IPv4 or IPv6).", DefaultValueFactory = _ => "127.0.0.1" };
Option<int> port = new Option<int>("--port") { HelpName = "N", Description = "UDP port (coaps default 5684); 0 picks a free one.", DefaultValueFactory = _ => 5684 }.InRange(0, 65535);
Option<string[]> psk = new("--psk") { HelpName = "IDENTITY:HEXKEY", Description = "A device's pre-shared key; repeat for each device identity.", Arity = ArgumentArity.ZeroOrMore };
Option<string?> cert = new("--cert") { HelpName = "FILE", Description = "Certificate chain (PEM), with --key." };
Option<string?> key = new("--key") { HelpName = "FILE", Description = "Private key (PEM or DER) for --cert." };
Option<string?> ca = new("--ca") { HelpName = "FILE", Description = "Ask devices for a certificate and verify it against the CAs in this PEM file." };
Option<string> cipher = new("--cipher") { HelpName = "LIST", Description = "OpenSSL cipher list (default: AEAD suites, then RFC 7252's CCM_8 suites).", DefaultValueFactory = _ => CoapServerSettings.DefaultCipherList };

RootCommand root = new("CoAP over DTLS server (OpenSsl.Dtls sample).") { host, port, psk, cert, key, ca, cipher };
root.SetAction((parsed, cancellationToken) => CoapServerHost.RunAsync(
    new CoapServerSettings
    {
        Host = parsed.GetRequiredValue(host),
        Port = parsed.GetValue(port),
        Psks = parsed.GetValue(psk) ?? [],
        CertificateFile = parsed.GetValue(cert),
        KeyFile = parsed.GetValue(key),
        CaFile = parsed.GetValue(ca),
        CipherList = parsed.GetRequiredValue(cipher),
    },
    cancellationToken));

ParseResult parseResult = root.Parse(args);
if (parseResult.Errors.Count > 0)
{
    return SampleArguments.ReportParseErrors(parseResult);
}

// The server handles SIGINT/SIGTERM itself (close_notify to every device, then exit 0).
return await SampleArguments.InvokeAsync(parseResult, new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
