using OpenSsl.Interop;
using static OpenSsl.Interop.LibSsl;

namespace OpenSsl.Dtls;

/// <summary>
/// Which DTLS versions the loaded libssl implements, asked of OpenSSL itself rather than guessed from
/// its version number: a DTLS context accepts a protocol bound only for a version it knows
/// (<c>SSL_CTX_set_max_proto_version</c>, man SSL_CTX_set_min_proto_version(3)). DTLS 1.2 is in every
/// OpenSSL 3.x and 4.0; DTLS 1.3 (RFC 9147) arrives in OpenSSL 4.1 (docs/openssl-versions.md).
/// </summary>
public static class DtlsProtocolSupport
{
    private static readonly Lazy<bool> HasDtls13 = new(() => Probe(DtlsProtocolVersion.Dtls13));

    /// <summary>True if the loaded libssl can negotiate <paramref name="version"/>. Loads OpenSSL on first use; thread-safe.</summary>
    /// <param name="version">A DTLS version.</param>
    /// <exception cref="PlatformNotSupportedException">No usable OpenSSL 3.x or 4.x could be loaded.</exception>
    public static bool IsSupported(DtlsProtocolVersion version) => version switch
    {
        DtlsProtocolVersion.Dtls12 => true,
        DtlsProtocolVersion.Dtls13 => HasDtls13.Value,
        _ => false,
    };

    /// <summary>The newest DTLS version the loaded libssl can negotiate.</summary>
    /// <exception cref="PlatformNotSupportedException">No usable OpenSSL 3.x or 4.x could be loaded.</exception>
    public static DtlsProtocolVersion Newest => IsSupported(DtlsProtocolVersion.Dtls13) ? DtlsProtocolVersion.Dtls13 : DtlsProtocolVersion.Dtls12;

    /// <summary>
    /// Throws the documented refusal when a setting names a version the loaded libssl lacks, before
    /// OpenSSL is asked (whose own error would only say "unsupported protocol").
    /// </summary>
    internal static void ThrowIfUnsupported(DtlsProtocolVersion version, string setting)
    {
        if (!Enum.IsDefined(version))
        {
            throw SettingErrors.Invalid(setting, $"{setting}: {(int)version:X4} is not a DTLS version; use DtlsProtocolVersion.Dtls12 or Dtls13.");
        }

        if (!IsSupported(version))
        {
            throw SettingErrors.Invalid(setting,
                $"{setting} = {version}: this libssl has no DTLS 1.3 ({OpenSslLibrary.Info.VersionText}; DTLS 1.3, RFC 9147, arrives in OpenSSL 4.1). " +
                $"Leave {nameof(DtlsOptions.MaximumProtocol)} null to negotiate the newest version the loaded libssl supports, or point " +
                $"{OpenSslLibrary.DirectoryVariable} at an OpenSSL that has DTLS 1.3.");
        }
    }

    /// <summary>True if a session made from <paramref name="options"/> may negotiate DTLS 1.3: its libssl has it and MaximumProtocol allows it.</summary>
    internal static bool MayNegotiateDtls13(DtlsOptions options) =>
        options.MaximumProtocol is null or DtlsProtocolVersion.Dtls13 && IsSupported(DtlsProtocolVersion.Dtls13);

    private static bool Probe(DtlsProtocolVersion version)
    {
        using SafeSslContextHandle probe = SSL_CTX_new(DTLS_method());
        bool known = !probe.IsInvalid && SSL_CTX_set_max_proto_version(probe, (int)version) == 1;
        ErrorQueue.Clear(); // a refused bound leaves an error on this thread's queue
        return known;
    }
}
