using OpenSsl.Dtls;

namespace OpenSslDtls.Interop.Tests.Support;

/// <summary>Our side's options for a row: certificates from <see cref="InteropPki"/>, the matrix PSK, our defaults otherwise.</summary>
internal static class OurOptions
{
    public static DtlsClientOptions Client(Suite? suite = null, string targetHost = "localhost", Credential? certificate = null) =>
        suite is { Psk: true }
            ? new DtlsClientOptions { PskIdentityText = Suites.PskIdentity, PskKey = Suites.PskKey, HandshakeTimeout = TimeSpan.FromSeconds(15) }
            : new DtlsClientOptions
            {
                CaFile = InteropPki.Shared.CaFile,
                TargetHost = targetHost,
                CertificateChainFile = certificate?.ChainFile,
                PrivateKeyFile = certificate?.KeyFile,
                HandshakeTimeout = TimeSpan.FromSeconds(15),
            };

    public static DtlsServerOptions Server(Suite? suite = null, bool requireClientCertificate = false, Credential? certificate = null)
    {
        if (suite is { Psk: true })
        {
            return new DtlsServerOptions
            {
                PskKeyLookup = request => request.IdentityText == Suites.PskIdentity ? Suites.PskKey : null,
                PskIdentityHint = "interop-hint",
                HandshakeTimeout = TimeSpan.FromSeconds(15),
            };
        }

        Credential credential = certificate ?? (suite is { Rsa: true } ? InteropPki.Shared.RsaServer : InteropPki.Shared.EcdsaServer);
        return new DtlsServerOptions
        {
            CertificateChainFile = credential.ChainFile,
            PrivateKeyFile = credential.KeyFile,
            RequireClientCertificate = requireClientCertificate,
            CaFile = requireClientCertificate ? InteropPki.Shared.CaFile : null,
            HandshakeTimeout = TimeSpan.FromSeconds(15),
        };
    }
}
