using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using OpenSsl.Dtls;
using OpenSsl.Dtls.Hosting;

namespace OpenSslDtls.Samples.EchoServer;

/// <summary>Runs the echo server until SIGINT or SIGTERM.</summary>
internal static class EchoServerHost
{
    // One plaintext record holds at most 16 KB (RFC 6347 §4.1, RFC 5246 §6.2.1).
    private const int MaxRecordPlaintext = 16384;
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(EchoServerSettings settings, CancellationToken cancellationToken)
    {
        if (settings.Validate() is { } invalid)
        {
            return SampleArguments.Fail(SampleArguments.Usage, invalid);
        }

        // Signals first, so that a SIGTERM arriving during start-up is not lost.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder
            .SetMinimumLevel(settings.Verbose ? LogLevel.Debug : LogLevel.Information)
            .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace)
            .AddSimpleConsole(format =>
            {
                format.SingleLine = true;
                format.TimestampFormat = "HH:mm:ss.fff ";
            }));
        ILogger log = loggers.CreateLogger("EchoServer");

        // The fleet's shared secrets (docs/deployment.md): refused at start when unreadable, malformed or open to others.
        // The format, the checks and the rotation are the hosting package's (DtlsSecretFile), so both take the same files.
        var secrets = new DtlsSecretFileWatcher(log);
        byte[]? cookieSecret = ReadSecret(settings.CookieSecretFile, "--cookie-secret-file", DtlsSecretKind.CookieSecret, secrets, out string? secretError);
        byte[]? ticketKeys = secretError is null ? ReadSecret(settings.TicketKeysFile, "--ticket-keys-file", DtlsSecretKind.SessionTicketKeys, secrets, out secretError) : null;
        if (secretError is not null)
        {
            return SampleArguments.Fail(SampleArguments.Usage, secretError);
        }

        DtlsServerOptions? serverOptions = CreateServerOptions(settings, ticketKeys, out X509Certificate2? certificate, out string? fingerprint, out string? error);
        using (certificate)
        {
            if (serverOptions is null)
            {
                return SampleArguments.Fail(SampleArguments.Usage, error!);
            }

            IPAddress? address = await ResolveAsync(settings.Host).ConfigureAwait(false);
            if (address is null)
            {
                return SampleArguments.Fail(SampleArguments.Usage, $"invalid --host '{settings.Host}' (expected an IP address or a resolvable name)");
            }

            DtlsListener listener;
            try
            {
                listener = DtlsListener.Listen(CreateListenerOptions(settings, new IPEndPoint(address, settings.Port), serverOptions, cookieSecret, loggers));
            }
            catch (ArgumentException e)
            {
                return SampleArguments.Fail(SampleArguments.Usage, e.Message);
            }
            catch (SocketException e)
            {
                return SampleArguments.Fail(SampleArguments.Failure, $"cannot listen on {settings.Host}:{settings.Port}: {e.Message}");
            }

            // Only once the options proved valid, so that a bad option is the one line on stderr.
            if (fingerprint is not null)
            {
                Console.Error.WriteLine($"fingerprint SHA256 {fingerprint}");
            }

            await ServeAsync(listener, serverOptions, secrets, log, stop.Token).ConfigureAwait(false);
            EchoLog.Stopped(log);
            return SampleArguments.Success;
        }

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true; // we exit by ourselves, with 0, after a clean shutdown
            stop.Cancel();
        }
    }

    private static byte[]? ReadSecret(string? path, string option, DtlsSecretKind kind, DtlsSecretFileWatcher watcher, out string? error)
    {
        error = null;
        if (path is null)
        {
            return null;
        }

        var file = new DtlsSecretFile(option, path, kind);
        if (!file.TryRead(out byte[]? secret, out error))
        {
            return null;
        }

        watcher.Watch(file, secret);
        return secret;
    }

    private static async Task ServeAsync(DtlsListener listener, DtlsServerOptions options, DtlsSecretFileWatcher secrets, ILogger log, CancellationToken stopping)
    {
        var sessions = new ConcurrentDictionary<DtlsSession, Task>();
        await using (listener.ConfigureAwait(false))
        {
            Task reloading = secrets.RunAsync([listener], stopping);
            // The one line scripts and tests wait for (the port is the text after the last ':').
            Console.Out.WriteLine($"listening on {listener.LocalEndPoint.Address}:{listener.LocalEndPoint.Port}");
            Console.Out.Flush();

            while (!stopping.IsCancellationRequested)
            {
                // The listener hands out established sessions only; failed handshakes are its business
                // (logged at Debug: --verbose).
                DtlsSession session;
                try
                {
                    session = await listener.AcceptAsync(stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    break;
                }

                sessions[session] = EchoAsync(session, options.Mtu, log, sessions, stopping);
            }

            await reloading.ConfigureAwait(false);
            DtlsListenerStatistics statistics = listener.Statistics;
            EchoLog.Statistics(
                log, statistics.CookiesSent, statistics.CookiesVerified, statistics.CookiesRejected, statistics.HandshakesCompleted, statistics.HandshakesFailed,
                statistics.DroppedNotClientHello, statistics.IdleSessionsReaped, statistics.SessionsReplaced);
            EchoLog.Stopping(log, sessions.Count);
            // Each echo loop sees the cancellation, disposes its session (which sends close_notify) and ends.
            try
            {
                await Task.WhenAll(sessions.Values).WaitAsync(ShutdownGrace, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // A stuck session must not keep the process alive; disposing the listener ends it.
            }
        }
    }

    /// <summary>Echoes every datagram of one session back to its sender until close_notify, failure or shutdown.</summary>
    private static async Task EchoAsync(DtlsSession session, int mtu, ILogger log, ConcurrentDictionary<DtlsSession, Task> sessions, CancellationToken stopping)
    {
        await Task.Yield(); // run the loop off the accept loop
        EndPoint? peer = session.RemoteEndPoint;
        long datagrams = 0;
        string reason = "the peer sent close_notify";
        EchoLog.SessionOpened(log, peer, session.ProtocolVersion, session.CipherSuite, session.NegotiatedApplicationProtocol ?? "-", session.IsResumed ? "yes" : "no",
            session.PskIdentity is { } identity ? $" psk_identity {SampleArguments.FormatIdentity(identity.Span)}" : session.RemoteCertificate is { } client ? $" client {client.Subject}" : string.Empty);
        if (session.SrtpProfile is not null)
        {
            // One line per session on stdout, for scripts and tests to compare with the peer's keys.
            string line = SampleArguments.SrtpLine(session.GetSrtpKeys());
            lock (Console.Out)
            {
                Console.Out.WriteLine(line);
                Console.Out.Flush();
            }
        }

        byte[] buffer = new byte[MaxRecordPlaintext];
        try
        {
            while (true)
            {
                int n = await session.ReceiveAsync(buffer, stopping).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                datagrams++;
                int max = session.MaxDatagramPayload;
                if (n > max)
                {
                    // The peer's MTU is larger than ours; one record cannot carry this back whole.
                    EchoLog.EchoSplit(log, peer, n, max, mtu);
                }

                for (int offset = 0; offset < n; offset += max)
                {
                    await session.SendAsync(buffer.AsMemory(offset, Math.Min(max, n - offset)), stopping).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            reason = "server shutdown";
        }
        catch (ObjectDisposedException)
        {
            reason = "closed by the listener (replaced by the peer's new handshake, or the listener stopped)";
        }
        catch (TimeoutException e)
        {
            // The listener reaps a session that received nothing for IdleTimeout; it says so in the message.
            reason = $"idle timeout: {e.Message}";
        }
        catch (DtlsException e)
        {
            reason = e.Message;
        }
        finally
        {
            // Disposing sends close_notify if the session is still up.
            await session.DisposeAsync().ConfigureAwait(false);
            sessions.TryRemove(session, out _);
            EchoLog.SessionClosed(log, peer, reason, datagrams);
        }
    }

    private static DtlsServerOptions? CreateServerOptions(EchoServerSettings settings, byte[]? ticketKeys, out X509Certificate2? certificate, out string? fingerprint, out string? error)
    {
        certificate = null;
        fingerprint = null;
        error = null;
        // Keyed by the identity's exact bytes (as hex): identities that differ in one byte are different clients.
        var pskKeys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (string psk in settings.Psk)
        {
            if (!SampleArguments.TryParsePsk(psk, out byte[] identity, out byte[] key, out error))
            {
                return null;
            }

            pskKeys[Convert.ToHexString(identity)] = key;
        }

        if (settings.CertificateFile is null && pskKeys.Count == 0)
        {
            certificate = SelfSignedCertificate.CreateForLocalhost();
        }

        // The leaf certificate's fingerprint is what a client passes to --pin (the native server prints it too).
        X509Certificate2? leaf = certificate;
        try
        {
            if (settings.CertificateFile is not null)
            {
                leaf = ReadLeafCertificate(settings.CertificateFile);
            }
        }
        catch (CryptographicException e)
        {
            error = $"cannot read a PEM certificate from --cert '{settings.CertificateFile}': {e.Message}";
            return null;
        }

        if (leaf is not null)
        {
            try
            {
                fingerprint = SelfSignedCertificate.Fingerprint(leaf);
                if (settings.CertificateOutputFile is not null)
                {
                    File.WriteAllText(settings.CertificateOutputFile, leaf.ExportCertificatePem() + "\n");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error = $"cannot write --cert-out '{settings.CertificateOutputFile}': {e.Message}";
                return null;
            }
            finally
            {
                if (leaf != certificate)
                {
                    leaf.Dispose();
                }
            }
        }

        return new DtlsServerOptions
        {
            Certificate = certificate,
            CertificateChainFile = settings.CertificateFile,
            PrivateKeyFile = settings.KeyFile,
            CaFile = settings.CaFile,
            RequestClientCertificate = settings.CaFile is not null,
            RequireClientCertificate = settings.RequireClientCertificate,
            PskKeyLookup = pskKeys.Count == 0 ? null : request => pskKeys.TryGetValue(Convert.ToHexString(request.Identity.Span), out byte[]? key) ? key : null,
            PskIdentityHint = settings.PskHint,
            CipherList = settings.CipherList,
            InsecureAllowLegacyCipherSuites = settings.AllowLegacyCiphers,
            SrtpProfiles = SampleArguments.ParseSrtp(settings.Srtp),
            KeyLog = SampleArguments.KeyLogTo(settings.KeyLogFile),
            EnableSessionTickets = !settings.NoTickets,
            SessionTicketKeys = ticketKeys,
            Mtu = settings.Mtu,
            ApplicationProtocols = SampleArguments.ParseAlpn(settings.Alpn),
        };
    }

    /// <summary>The first certificate of a PEM chain file (the library itself loads the file for the handshake).</summary>
    private static X509Certificate2 ReadLeafCertificate(string path)
    {
        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(path);
        if (chain.Count == 0)
        {
            throw new CryptographicException("the file holds no CERTIFICATE block");
        }

        foreach (X509Certificate2 other in chain.Skip(1))
        {
            other.Dispose();
        }

        return chain[0];
    }

    private static DtlsListenerOptions CreateListenerOptions(EchoServerSettings settings, IPEndPoint endpoint, DtlsServerOptions serverOptions, byte[]? cookieSecret, ILoggerFactory loggers)
    {
        var defaults = new DtlsListenerOptions { LocalEndPoint = endpoint, ServerOptions = serverOptions };
        return new DtlsListenerOptions
        {
            LocalEndPoint = endpoint,
            ServerOptions = serverOptions,
            MaxSessions = settings.MaxSessions > 0 ? settings.MaxSessions : defaults.MaxSessions,
            IdleTimeout = settings.IdleTimeout > TimeSpan.Zero ? settings.IdleTimeout : defaults.IdleTimeout,
            ReceiveLoops = settings.ReceiveLoops,
            CookieSecret = cookieSecret,
            LoggerFactory = loggers,
        };
    }

    private static async Task<IPAddress?> ResolveAsync(string host)
    {
        if (IPAddress.TryParse(host, out IPAddress? literal))
        {
            return literal;
        }

        try
        {
            IPAddress[] addresses = await Dns.GetHostAddressesAsync(host).ConfigureAwait(false);
            return addresses.Length > 0 ? addresses[0] : null;
        }
        catch (SocketException)
        {
            return null;
        }
    }
}
