using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using OpenSsl.Dtls;

namespace OpenSslDtls.Samples.CoapServer;

/// <summary>Runs the CoAP-over-DTLS server (RFC 7252 §9.1) on one <see cref="DtlsListener"/> until SIGINT or SIGTERM.</summary>
internal static class CoapServerHost
{
    // A CoAP message should fit one datagram of the path MTU (§4.6); 16 KB is one full DTLS record.
    private const int MaxDatagram = 16384;
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(CoapServerSettings settings, CancellationToken cancellationToken)
    {
        DeviceKeys? devices = DeviceKeys.Parse(settings.Psks, out string? error);
        if ((settings.Validate() ?? error) is { } invalid)
        {
            return SampleArguments.Fail(SampleArguments.Usage, invalid);
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        var serverOptions = new DtlsServerOptions
        {
            CertificateChainFile = settings.CertificateFile,
            PrivateKeyFile = settings.KeyFile,
            CaFile = settings.CaFile,
            RequestClientCertificate = settings.CaFile is not null,
            PskKeyLookup = devices!.Count > 0 ? devices.Lookup : null,
            CipherList = settings.CipherList,
        };

        if (!IPAddress.TryParse(settings.Host, out IPAddress? address))
        {
            return SampleArguments.Fail(SampleArguments.Usage, $"invalid --host '{settings.Host}' (expected an IP address)");
        }

        // The listener's events on stderr at Information: it started, and one line per refused handshake
        // (unknown identity, wrong key, no shared cipher), at most ten a second.
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder
            .SetMinimumLevel(LogLevel.Information)
            .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace)
            .AddSimpleConsole(format =>
            {
                format.SingleLine = true;
                format.TimestampFormat = "HH:mm:ss.fff ";
            }));
        DtlsListener listener;
        try
        {
            listener = DtlsListener.Listen(new DtlsListenerOptions
            {
                LocalEndPoint = new IPEndPoint(address, settings.Port),
                ServerOptions = serverOptions,
                LoggerFactory = loggers,
            });
        }
        catch (ArgumentException e)
        {
            return SampleArguments.Fail(SampleArguments.Usage, e.Message); // a bad --cipher, key or certificate names the option
        }
        catch (SocketException e)
        {
            return SampleArguments.Fail(SampleArguments.Failure, $"cannot listen on {settings.Host}:{settings.Port}: {e.Message}");
        }

        await ServeAsync(listener, stop.Token).ConfigureAwait(false);
        return SampleArguments.Success;

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true; // exit 0 after close_notify to every device
            stop.Cancel();
        }
    }

    private static async Task ServeAsync(DtlsListener listener, CancellationToken stopping)
    {
        var sessions = new ConcurrentDictionary<DtlsSession, Task>();
        await using (listener.ConfigureAwait(false))
        {
            Console.Out.WriteLine($"listening on {listener.LocalEndPoint.Address}:{listener.LocalEndPoint.Port}");
            Console.Out.Flush();
            while (!stopping.IsCancellationRequested)
            {
                DtlsSession session;
                try
                {
                    session = await listener.AcceptAsync(stopping).ConfigureAwait(false); // handshakes done, cookies checked
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    break;
                }

                sessions[session] = ServeSessionAsync(session, sessions, stopping);
            }

            try
            {
                await Task.WhenAll(sessions.Values).WaitAsync(ShutdownGrace, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Disposing the listener ends whatever is left.
            }
        }
    }

    /// <summary>Answers every CoAP message of one device until it closes, fails or the server stops.</summary>
    private static async Task ServeSessionAsync(DtlsSession session, ConcurrentDictionary<DtlsSession, Task> sessions, CancellationToken stopping)
    {
        await Task.Yield(); // off the accept loop
        EndPoint? peer = session.RemoteEndPoint;
        // The device: its certificate's name, else its PSK identity (as text, or hex when it is not UTF-8).
        string? device = session.RemoteCertificate?.GetNameInfo(X509NameType.SimpleName, forIssuer: false)
            ?? (session.PskIdentity is { Length: > 0 } identity ? session.PskIdentityText ?? $"hex:{Convert.ToHexString(identity.Span)}" : null);
        Console.Error.WriteLine($"session opened peer {peer} cipher {session.CipherSuite} device {device ?? "-"}");
        var responder = new CoapResponder(device);
        byte[] buffer = new byte[MaxDatagram];
        string reason = "close_notify";
        try
        {
            int received;
            while ((received = await session.ReceiveAsync(buffer, stopping).ConfigureAwait(false)) > 0)
            {
                if (responder.Respond(buffer.AsSpan(0, received)) is { } reply)
                {
                    await session.SendAsync(reply, stopping).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            reason = "server shutdown";
        }
        catch (Exception e) when (e is DtlsException or SocketException or ObjectDisposedException)
        {
            reason = e.Message;
        }
        finally
        {
            await session.DisposeAsync().ConfigureAwait(false); // sends close_notify if the session is still up
            sessions.TryRemove(session, out _);
            Console.Error.WriteLine($"session closed peer {peer} reason {reason}");
        }
    }
}
