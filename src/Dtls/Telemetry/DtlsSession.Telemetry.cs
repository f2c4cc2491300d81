using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using OpenSsl.Interop;

namespace OpenSsl.Dtls;

/// <summary>
/// A session's metrics, trace and log lines (README, "Metrics, traces and logs"): one handshake
/// measured from its start to its end, the session counted active from its completion to its disposal.
/// Every method here runs under the session's lock.
/// </summary>
public sealed partial class DtlsSession
{
    private long _handshakeStarted;
    private bool _handshakeMeasured;
    private bool _countedActive;
    // The common tags as an array, not a TagList (a 144-byte struct inline in every session): a
    // server's are the same for every session on one local endpoint and shared (s_serverTags).
    private KeyValuePair<string, object?>[] _tagValues = [];
    private static ServerTags? s_serverTags;
    private Activity? _activity;
    private string? _abortErrorType;

    private DtlsTelemetry Telemetry => _context.Telemetry;

    private string Role => _context.IsServer ? "server" : "client";

    /// <summary>The handshake starts: counted in progress, its activity started, its clock running.</summary>
    private void BeginHandshakeTelemetry()
    {
        _handshakeStarted = Telemetry.Now;
        _handshakeMeasured = true;
        _tagValues = CommonTagValues();
        DtlsInstruments instruments = Telemetry.Instruments;
        (_context.IsServer ? instruments.ServerActiveHandshakes : instruments.ClientActiveHandshakes).Add(1, Tags);
        _activity = StartHandshakeActivity();
    }

    private Activity? StartHandshakeActivity()
    {
        ActivitySource source = DtlsTracing.Source;
        if (!source.HasListeners())
        {
            return null;
        }

        Activity? activity;
        if (_context.IsServer)
        {
            // A server handshake is a root: DTLS carries no trace context, and whatever activity was
            // current where the listener's receive loop started is not this handshake's parent.
            Activity? ambient = Activity.Current;
            Activity.Current = null;
            activity = source.StartActivity(DtlsTracing.HandshakeActivityName, ActivityKind.Server);
            Activity.Current = ambient;
        }
        else
        {
            activity = source.StartActivity(DtlsTracing.HandshakeActivityName, ActivityKind.Client);
        }

        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("dtls.role", Role);
            foreach (KeyValuePair<string, object?> tag in _tagValues)
            {
                activity.SetTag(tag.Key, tag.Value);
            }

            if (RemoteEndPoint is IPEndPoint peer)
            {
                activity.SetTag("network.peer.address", peer.Address.ToString());
                activity.SetTag("network.peer.port", peer.Port);
            }
        }

        return activity;
    }

    /// <summary>The handshake ended (<paramref name="failure"/> null: completed). Measured once.</summary>
    private void EndHandshakeTelemetry(Exception? failure)
    {
        if (!_handshakeMeasured)
        {
            return;
        }

        _handshakeMeasured = false;
        TimeSpan elapsed = Telemetry.Since(_handshakeStarted);
        DtlsInstruments instruments = Telemetry.Instruments;
        (_context.IsServer ? instruments.ServerActiveHandshakes : instruments.ClientActiveHandshakes).Add(-1, Tags);
        TagList tags = Tags;
        string? errorType = null;
        if (failure is null)
        {
            tags.Add("tls.protocol.version", ProtocolVersionNumber(NegotiatedProtocol));
            _countedActive = true;
            (_context.IsServer ? instruments.ServerActiveSessions : instruments.ClientActiveSessions).Add(1, Tags);
            // The arguments cost a string for the peer and two calls into OpenSSL per handshake: only
            // when Debug is on (the generated method checks the level after they are evaluated).
            if (Telemetry.SessionLogger.IsEnabled(LogLevel.Debug))
            {
                SessionLog.HandshakeCompleted(Telemetry.SessionLogger, Role, PeerName, elapsed.TotalMilliseconds, ProtocolVersion, CipherSuite, IsResumed);
            }
        }
        else
        {
            errorType = _abortErrorType ?? ErrorType(failure);
            tags.Add("error.type", errorType);
            SessionLog.HandshakeFailed(Telemetry.SessionLogger, Role, PeerName, elapsed.TotalMilliseconds, errorType, failure);
        }

        (_context.IsServer ? instruments.ServerHandshakeDuration : instruments.ClientHandshakeDuration).Record(elapsed.TotalSeconds, tags);
        StopHandshakeActivity(failure, errorType);
    }

    private void StopHandshakeActivity(Exception? failure, string? errorType)
    {
        Activity? activity = _activity;
        if (activity is null)
        {
            return;
        }

        _activity = null;
        if (failure is null)
        {
            activity.SetTag("tls.protocol.version", ProtocolVersionNumber(NegotiatedProtocol));
            activity.SetTag("tls.cipher", CipherSuite);
            activity.SetTag("tls.resumed", IsResumed);
        }
        else
        {
            activity.SetTag("error.type", errorType);
            activity.SetStatus(ActivityStatusCode.Error, failure.Message);
        }

        activity.Stop();
    }

    /// <summary>The session is disposed: no longer active.</summary>
    private void EndSessionTelemetry()
    {
        if (_countedActive)
        {
            _countedActive = false;
            DtlsInstruments instruments = Telemetry.Instruments;
            (_context.IsServer ? instruments.ServerActiveSessions : instruments.ClientActiveSessions).Add(-1, Tags);
        }
    }

    private void CountRetransmission()
    {
        DtlsInstruments instruments = Telemetry.Instruments;
        (_context.IsServer ? instruments.ServerRetransmissions : instruments.ClientRetransmissions).Add(1, Tags);
    }

    private void LogAlert(DtlsAlert alert) =>
        SessionLog.Alert(Telemetry.SessionLogger, alert.IsFatal ? "fatal" : "warning", alert.Name, alert.Description, alert.Sent ? "sent to" : "received from", PeerName);

    /// <summary>
    /// The listener ends a handshake for its own reason (evicted, superseded, stopping):
    /// <paramref name="errorType"/> is what the metrics and the trace say, <paramref name="e"/> what the waiter sees.
    /// </summary>
    internal void AbortHandshake(string errorType, Exception e)
    {
        lock (_lock)
        {
            if (_state == SessionState.Handshaking)
            {
                _abortErrorType = errorType;
                FailHandshakeLocked(e);
            }
        }
    }

    /// <summary>
    /// <c>server.address</c>/<c>server.port</c> (a client: the server it connects to, by
    /// <see cref="DtlsClientOptions.TargetHost"/> when set; a server: its own endpoint),
    /// <c>network.transport</c> and <c>network.type</c>.
    /// </summary>
    private TagList Tags => new(_tagValues);

    private KeyValuePair<string, object?>[] CommonTagValues()
    {
        EndPoint? server = _context.IsServer ? LocalEndPoint : RemoteEndPoint;
        if (server is not IPEndPoint ip)
        {
            return [new("network.transport", "udp")];
        }

        if (_context.IsServer && Volatile.Read(ref s_serverTags) is { } shared && shared.EndPoint.Equals(ip))
        {
            return shared.Values;
        }

        KeyValuePair<string, object?>[] values =
        [
            new("network.transport", "udp"),
            new("network.type", ip.AddressFamily == AddressFamily.InterNetworkV6 && !ip.Address.IsIPv4MappedToIPv6 ? "ipv6" : "ipv4"),
            new("server.address", !_context.IsServer && ExpectedHost is { } host ? host : ip.Address.ToString()),
            new("server.port", ip.Port),
        ];
        if (_context.IsServer)
        {
            Volatile.Write(ref s_serverTags, new ServerTags(ip, values));
        }

        return values;
    }

    /// <summary>The tags of the last server endpoint seen: never changed once made, read by every session on that endpoint.</summary>
    private sealed record ServerTags(IPEndPoint EndPoint, KeyValuePair<string, object?>[] Values);

    /// <summary>OpenTelemetry's <c>tls.protocol.version</c>: "1.2", "1.3".</summary>
    private static string? ProtocolVersionNumber(DtlsProtocolVersion? version) => version switch
    {
        DtlsProtocolVersion.Dtls12 => "1.2",
        DtlsProtocolVersion.Dtls13 => "1.3",
        null => null,
        _ => version.ToString(),
    };

    /// <summary>
    /// OpenTelemetry's <c>error.type</c> for a failed handshake, from a small fixed set: timeout,
    /// canceled, disposed, transport, certificate_chain/_name/_expired/_pin/_callback/_missing/_rejected_by_peer,
    /// the fatal alert's name in snake case (handshake_failure, decrypt_error, unknown_psk_identity ...),
    /// protocol_error, or the exception's type name.
    /// </summary>
    internal static string ErrorType(Exception e) => e switch
    {
        TimeoutException => "timeout",
        OperationCanceledException => "canceled",
        ObjectDisposedException => "disposed",
        DtlsAuthenticationException auth => "certificate_" + SnakeCase(auth.Failure.ToString()),
        DtlsException { InnerException: SocketException } => "transport",
        DtlsException { Alert: { IsFatal: true } alert } => alert.Name.ToLowerInvariant().Replace(' ', '_'),
        DtlsException or OpenSslException => "protocol_error",
        _ => e.GetType().FullName ?? e.GetType().Name,
    };

    /// <summary>A PascalCase enum name in snake case: RejectedByPeer, rejected_by_peer.</summary>
    private static string SnakeCase(string name)
    {
        var builder = new System.Text.StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                builder.Append('_');
            }

            builder.Append(char.ToLowerInvariant(name[i]));
        }

        return builder.ToString();
    }
}
