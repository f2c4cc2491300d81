namespace OpenSsl.Dtls;

/// <summary>
/// The copy <see cref="DtlsListener.Listen"/> takes of its options (docs/architecture.md, options are
/// snapshotted): a memberwise copy plus a copy of the cookie secret. <see cref="ServerOptions"/> is
/// copied by the <see cref="DtlsContext"/> the listener makes from it.
/// </summary>
public sealed partial class DtlsListenerOptions
{
    internal DtlsListenerOptions Snapshot()
    {
        var copy = (DtlsListenerOptions)MemberwiseClone();
        copy.CookieSecret = CookieSecret.IsEmpty ? default : CookieSecret.ToArray();
        return copy;
    }
}
