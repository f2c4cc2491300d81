namespace OpenSsl.Dtls;

/// <summary>The server's part of the options snapshot (see <see cref="DtlsOptions"/>).</summary>
public sealed partial class DtlsServerOptions
{
    private protected override void CopyOwnBuffers() => SessionTicketKeys = CopyBuffer(SessionTicketKeys);
}
