namespace OpenSsl.Dtls;

/// <summary>
/// The copy a <see cref="DtlsContext"/> takes of its options (docs/architecture.md, options are
/// snapshotted): a memberwise copy, so every scalar option is copied without listing it, plus a copy
/// of every list and byte buffer, so that neither the options object nor a list the application keeps
/// changes a context that already exists. A new list or buffer option must be copied here.
/// </summary>
public abstract partial class DtlsOptions
{
    internal DtlsOptions Snapshot()
    {
        var copy = (DtlsOptions)MemberwiseClone();
        copy.CertificateChain = CopyList(CertificateChain, nameof(CertificateChain));
        copy.TrustedCertificates = CopyList(TrustedCertificates, nameof(TrustedCertificates));
        copy.PinnedCertificateSha256 = CopyList(PinnedCertificateSha256, nameof(PinnedCertificateSha256));
        copy.ApplicationProtocols = CopyList(ApplicationProtocols, nameof(ApplicationProtocols));
        copy.SrtpProfiles = CopyList(SrtpProfiles, nameof(SrtpProfiles));
        copy.CopyOwnBuffers();
        return copy;
    }

    /// <summary>Replaces this copy's byte buffers with copies (the server's ticket keys, the client's PSK).</summary>
    private protected abstract void CopyOwnBuffers();

    // A settable list can be set to null (by code or a configuration binder); that is an error naming it, not a NullReferenceException later.
    private protected static T[] CopyList<T>(IReadOnlyList<T>? list, string setting) =>
        list is null ? throw SettingErrors.Invalid(setting, $"{setting} must not be null; leave it empty instead.") : [.. list];

    private protected static ReadOnlyMemory<byte> CopyBuffer(ReadOnlyMemory<byte> buffer) => buffer.IsEmpty ? default : buffer.ToArray();
}
