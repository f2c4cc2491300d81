namespace OpenSsl.Dtls.Hosting;

/// <summary>Where a <see cref="DtlsListenerService"/> is in its life.</summary>
public enum DtlsListenerState
{
    /// <summary>The host has not started the service yet.</summary>
    NotStarted,

    /// <summary>Every endpoint is bound and sessions are being accepted and served.</summary>
    Listening,

    /// <summary>The host is stopping: no new session is served (new ones are closed at once) while the running ones end.</summary>
    Draining,

    /// <summary>Stopped: the listeners are disposed.</summary>
    Stopped,

    /// <summary>Starting failed (a configuration error or a port that could not be bound); the error went to the host.</summary>
    Failed,
}
