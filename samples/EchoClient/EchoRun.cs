using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using OpenSsl.Dtls;
using OpenSsl.Interop;

namespace OpenSslDtls.Samples.EchoClient;

/// <summary>One run of the echo client: connect, send the payload <c>--count</c> times, check every echo.</summary>
internal static class EchoRun
{
    private const int MaxPayload = 4096;
    private const string TrustHint = "to trust this server pass --ca FILE, --pin <the server's SHA-256 fingerprint> (EchoServer prints it as 'fingerprint SHA256 <HEX>'), or --insecure";

    public static async Task<int> RunAsync(EchoClientSettings settings, CancellationToken cancellationToken)
    {
        if (settings.Validate() is { } invalid)
        {
            return SampleArguments.Fail(SampleArguments.Usage, invalid);
        }

        byte[] pskIdentity = [];
        byte[] pskKey = [];
        if (settings.Psk is not null && !SampleArguments.TryParsePsk(settings.Psk, out pskIdentity, out pskKey, out string? pskError))
        {
            return SampleArguments.Fail(SampleArguments.Usage, pskError!);
        }

        byte[] payload = await ReadPayloadAsync(settings, cancellationToken).ConfigureAwait(false);
        if (payload.Length == 0)
        {
            return SampleArguments.Fail(SampleArguments.Usage, $"--file '{settings.File}' is empty");
        }

        var options = new DtlsClientOptions
        {
            // A pin without --server-name authenticates the server by its certificate alone (RFC 8122 style).
            TargetHost = settings.ServerName ?? (settings.Pin is null ? settings.Host : null),
            CaFile = settings.CaFile,
            PinnedCertificateSha256 = settings.Pin is null ? [] : [settings.Pin],
            InsecureSkipCertificateValidation = settings.Insecure,
            CertificateChainFile = settings.CertificateFile,
            PrivateKeyFile = settings.KeyFile,
            PskIdentity = pskIdentity,
            PskKey = pskKey,
            CipherList = settings.CipherList,
            InsecureAllowLegacyCipherSuites = settings.AllowLegacyCiphers,
            SrtpProfiles = SampleArguments.ParseSrtp(settings.Srtp),
            KeyLog = SampleArguments.KeyLogTo(settings.KeyLogFile),
            ApplicationProtocols = SampleArguments.ParseAlpn(settings.Alpn),
            Mtu = settings.Mtu,
            HandshakeTimeout = settings.Timeout,
        };

        DtlsContext context;
        try
        {
            // Everything that is wrong with the settings surfaces here, before any packet is sent.
            context = new DtlsContext(options);
        }
        catch (ArgumentException e)
        {
            return SampleArguments.Fail(SampleArguments.Usage, e.Message);
        }

        using (context)
        {
            // A host name is resolved by DtlsClient, which tries each of its addresses.
            EndPoint endpoint = IPAddress.TryParse(settings.Host, out IPAddress? literal)
                ? new IPEndPoint(literal, settings.Port)
                : new DnsEndPoint(settings.Host, settings.Port);
            for (int connection = 1; connection <= settings.Connections; connection++)
            {
                int result = await ConnectAndEchoAsync(context, endpoint, payload, settings, cancellationToken).ConfigureAwait(false);
                if (result != SampleArguments.Success)
                {
                    return result;
                }
            }

            return SampleArguments.Success;
        }
    }

    private static async Task<int> ConnectAndEchoAsync(DtlsContext context, EndPoint endpoint, byte[] payload, EchoClientSettings settings, CancellationToken cancellationToken)
    {
        DtlsSession session;
        try
        {
            session = await DtlsClient.ConnectAsync(endpoint, context, cancellationToken).ConfigureAwait(false);
        }
        catch (DtlsAuthenticationException e) when (e.Failure is not DtlsCertificateFailure.RejectedByPeer)
        {
            return SampleArguments.Fail(SampleArguments.Failure, $"certificate verification failed ({e.Failure}): {e.Detail}; {Hint(e.Failure)}");
        }
        catch (DtlsException e)
        {
            return SampleArguments.Fail(SampleArguments.Failure, $"handshake with {Show(endpoint)} failed: {Describe(e)}");
        }
        catch (TimeoutException e)
        {
            // The library's message lists the possible causes (no server, ICMP errors seen, a server that
            // refuses silently: unknown PSK identity or key, no common cipher or version; a path that drops
            // datagrams of this size).
            return SampleArguments.Fail(SampleArguments.Failure, $"handshake with {Show(endpoint)} timed out after {Seconds(settings.Timeout)} s: {e.Message}");
        }
        catch (SocketException e) when (endpoint is DnsEndPoint && e.SocketErrorCode is SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData)
        {
            return SampleArguments.Fail(SampleArguments.Usage, $"cannot resolve --host '{settings.Host}': {e.Message}");
        }
        catch (SocketException e)
        {
            return SampleArguments.Fail(SampleArguments.Failure, $"cannot reach {Show(endpoint)}: {e.Message}");
        }

        await using (session.ConfigureAwait(false))
        {
            Console.Error.WriteLine(
                $"connected peer {session.RemoteEndPoint} version {session.ProtocolVersion} cipher {session.CipherSuite} " +
                $"alpn {session.NegotiatedApplicationProtocol ?? "-"} max_datagram {session.MaxDatagramPayload}");
            if (session.IsResumed)
            {
                Console.Out.WriteLine("resumed");
            }

            if (session.SrtpProfile is not null)
            {
                Console.Out.WriteLine(SampleArguments.SrtpLine(session.GetSrtpKeys()));
            }

            try
            {
                if (settings.NoEcho)
                {
                    await SendOnlyAsync(session, payload, settings.Count, cancellationToken).ConfigureAwait(false);
                    Console.Out.Flush();
                    Console.Error.WriteLine($"sent {settings.Count} time(s) {payload.Length} bytes (no echo expected)");
                    await session.ShutdownAsync(cancellationToken).ConfigureAwait(false);
                    return SampleArguments.Success;
                }

                byte[] echoed = [];
                for (int round = 0; round < settings.Count; round++)
                {
                    echoed = await EchoOnceAsync(session, payload, settings.Timeout, cancellationToken).ConfigureAwait(false);
                    if (!echoed.AsSpan().SequenceEqual(payload))
                    {
                        return SampleArguments.Fail(SampleArguments.Failure, $"echo mismatch in round {round + 1}: sent {payload.Length} bytes, received {echoed.Length} bytes that differ at offset {FirstDifference(payload, echoed)}");
                    }
                }

                string text = Encoding.UTF8.GetString(echoed);
                Console.Out.Write(text.EndsWith('\n') ? text : text + "\n");
                Console.Out.Flush();
                Console.Error.WriteLine($"{settings.Count} echo(es) of {payload.Length} bytes matched");
                await session.ShutdownAsync(cancellationToken).ConfigureAwait(false);
                return SampleArguments.Success;
            }
            catch (TimeoutException e)
            {
                return SampleArguments.Fail(SampleArguments.Failure, e.Message);
            }
            catch (EndOfStreamException e)
            {
                return SampleArguments.Fail(SampleArguments.Failure, e.Message);
            }
            catch (DtlsException e)
            {
                return SampleArguments.Fail(SampleArguments.Failure, $"session with {Show(endpoint)} failed: {Describe(e)}");
            }
            catch (SocketException e)
            {
                return SampleArguments.Fail(SampleArguments.Failure, $"session with {Show(endpoint)} failed: {e.Message}");
            }
        }
    }

    /// <summary>Sends the payload <paramref name="count"/> times in datagrams that fit the session, without reading.</summary>
    private static async Task SendOnlyAsync(DtlsSession session, byte[] payload, int count, CancellationToken cancellationToken)
    {
        for (int round = 0; round < count; round++)
        {
            for (int sent = 0; sent < payload.Length; sent += session.MaxDatagramPayload)
            {
                await session.SendAsync(payload.AsMemory(sent, Math.Min(session.MaxDatagramPayload, payload.Length - sent)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static string Show(EndPoint endpoint) => endpoint is DnsEndPoint dns ? $"{dns.Host}:{dns.Port}" : endpoint.ToString() ?? "?";

    /// <summary>
    /// Sends <paramref name="payload"/> in datagrams of at most <see cref="DtlsSession.MaxDatagramPayload"/>
    /// bytes (DTLS never splits a datagram) and reassembles what comes back. Each datagram waits for its
    /// echo before the next goes out, so nothing piles up in a receive queue and loss shows as a timeout.
    /// </summary>
    private static async Task<byte[]> EchoOnceAsync(DtlsSession session, byte[] payload, TimeSpan timeout, CancellationToken cancellationToken)
    {
        byte[] echoed = new byte[payload.Length];
        byte[] buffer = new byte[16384 + 1024];
        int sent = 0;
        int received = 0;
        while (sent < payload.Length)
        {
            int size = Math.Min(session.MaxDatagramPayload, payload.Length - sent);
            await session.SendAsync(payload.AsMemory(sent, size), cancellationToken).ConfigureAwait(false);
            sent += size;
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            while (received < sent)
            {
                int n;
                try
                {
                    n = await session.ReceiveAsync(buffer, deadline.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"no echo within {Seconds(timeout)} s (received {received} of {sent} bytes sent so far)");
                }

                if (n == 0)
                {
                    throw new EndOfStreamException($"the server closed the session (close_notify) after echoing {received} of {payload.Length} bytes");
                }

                if (received + n > echoed.Length)
                {
                    throw new DtlsException($"the server sent back more than was sent ({received + n} bytes for {sent})");
                }

                buffer.AsSpan(0, n).CopyTo(echoed.AsSpan(received));
                received += n;
            }
        }

        return echoed;
    }

    private static async Task<byte[]> ReadPayloadAsync(EchoClientSettings settings, CancellationToken cancellationToken)
    {
        if (settings.File is null)
        {
            return Encoding.UTF8.GetBytes(settings.Message ?? "hello");
        }

        // The classic client sends the first 4 KB of the file: more than one datagram at the default MTU.
        var stream = new FileStream(settings.File, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, useAsync: true);
        await using (stream.ConfigureAwait(false))
        {
            byte[] buffer = new byte[MaxPayload];
            int length = await stream.ReadAtLeastAsync(buffer, MaxPayload, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            return buffer[..length];
        }
    }

    private static string Hint(DtlsCertificateFailure failure) => failure switch
    {
        DtlsCertificateFailure.Name => "pass --server-name with a name the certificate holds (or --host with the address it holds)",
        DtlsCertificateFailure.Pin => "check --pin against the server's fingerprint (EchoServer prints it as 'fingerprint SHA256 <HEX>')",
        DtlsCertificateFailure.Missing => "the server wants a client certificate: pass --cert FILE --key FILE",
        _ => TrustHint,
    };

    private static int FirstDifference(byte[] a, byte[] b) => a.AsSpan().CommonPrefixLength(b);

    /// <summary>The exception's message (it names the alert, if any) and OpenSSL's errors, if it queued any.</summary>
    private static string Describe(DtlsException e) =>
        e.InnerException is OpenSslException { Errors.Count: > 0 } errors ? $"{e.Message} ({errors.Message})" : e.Message;

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString(CultureInfo.InvariantCulture);
}
