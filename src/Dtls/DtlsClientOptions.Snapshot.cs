namespace OpenSsl.Dtls;

/// <summary>The client's part of the options snapshot (see <see cref="DtlsOptions"/>).</summary>
public sealed partial class DtlsClientOptions
{
    private protected override void CopyOwnBuffers()
    {
        PskIdentity = CopyBuffer(PskIdentity);
        PskKey = CopyBuffer(PskKey);
    }
}
