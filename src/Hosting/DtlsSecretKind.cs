namespace OpenSsl.Dtls.Hosting;

/// <summary>Which secret a <see cref="DtlsSecretFile"/> holds.</summary>
public enum DtlsSecretKind
{
    /// <summary>The HelloVerifyRequest cookie secret (<see cref="DtlsListenerOptions.CookieSecret"/>, <see cref="DtlsListener.UpdateCookieSecret"/>): 32 bytes or more.</summary>
    CookieSecret,

    /// <summary>Session-ticket keys (<see cref="DtlsServerOptions.SessionTicketKeys"/>, <see cref="DtlsListener.UpdateSessionTicketKeys"/>): one or more 80-byte keys, newest first.</summary>
    SessionTicketKeys,
}
