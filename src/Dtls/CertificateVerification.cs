using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OpenSsl.Interop;
using static OpenSsl.Interop.LibCrypto;

namespace OpenSsl.Dtls;

/// <summary>
/// One session's view of its peer's certificate: the errors OpenSSL found, then one decision that
/// applies pins and the application's callback with <see cref="SslStream"/>'s semantics.
/// </summary>
internal sealed class CertificateVerification(DtlsSession session)
{
    private int _firstChainError;
    private int _firstNameError;

    /// <summary>Why the certificate was rejected, once it was.</summary>
    public DtlsCertificateFailure? Failure { get; private set; }

    /// <summary>The human explanation of <see cref="Failure"/>.</summary>
    public string? Detail { get; private set; }

    /// <summary>The X509_V_ERR code to report to OpenSSL on rejection (it picks the alert from it).</summary>
    public int NativeError { get; private set; }

    public void Record(int error, int depth)
    {
        _ = depth;
        if (error is X509_V_ERR_HOSTNAME_MISMATCH or X509_V_ERR_IP_ADDRESS_MISMATCH)
        {
            _firstNameError = _firstNameError == 0 ? error : _firstNameError;
        }
        else if (error != X509_V_OK)
        {
            _firstChainError = _firstChainError == 0 ? error : _firstChainError;
        }
    }

    /// <summary>Decides on the peer's certificate once OpenSSL has verified its chain.</summary>
    /// <param name="leafDer">The peer's certificate.</param>
    /// <param name="untrustedChainDer">What the peer sent besides it; read only for the application's callback.</param>
    public bool Decide(byte[] leafDer, Func<List<byte[]>> untrustedChainDer)
    {
        DtlsOptions options = session.Context.Settings;

        bool pinned = session.Context.Pins.Count > 0;
        if (pinned && !session.Context.Pins.Contains(Convert.ToHexString(SHA256.HashData(leafDer))))
        {
            return Reject(DtlsCertificateFailure.Pin, "the certificate matches none of the pinned SHA-256 fingerprints", X509_V_ERR_APPLICATION_VERIFICATION);
        }

        // A matching pin is the trust anchor: chain errors no longer count. Without a TargetHost the
        // pin is the whole authentication (RFC 8122 fingerprints, device pairing): the names are not
        // checked (the IP literal the session falls back to would fail them). With a TargetHost, both count.
        if (pinned && options is DtlsClientOptions { TargetHost: null })
        {
            _firstNameError = 0;
        }

        SslPolicyErrors errors = SslPolicyErrors.None;
        if (_firstChainError != 0 && !pinned)
        {
            errors |= SslPolicyErrors.RemoteCertificateChainErrors;
        }

        if (_firstNameError != 0)
        {
            errors |= SslPolicyErrors.RemoteCertificateNameMismatch;
        }

        if (options.RemoteCertificateValidation is { } callback)
        {
            using X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(leafDer);
            using X509Chain chain = BuildChain(certificate, untrustedChainDer(), options);
            bool accepted;
            try
            {
                accepted = callback(session, certificate, chain, errors);
            }
            catch (Exception e)
            {
                session.UserCallbackFailed("RemoteCertificateValidation", e, openSslAborts: true, new DtlsAuthenticationException(DtlsCertificateFailure.Callback, $"the validation callback threw {e.GetType().Name}: {e.Message}", e));
                return Reject(DtlsCertificateFailure.Callback, "the validation callback threw", X509_V_ERR_APPLICATION_VERIFICATION);
            }

            return accepted || Reject(DtlsCertificateFailure.Callback, $"the validation callback rejected it (policy errors: {errors})", X509_V_ERR_APPLICATION_VERIFICATION);
        }

        if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            DtlsCertificateFailure failure = _firstChainError is X509_V_ERR_CERT_HAS_EXPIRED or X509_V_ERR_CERT_NOT_YET_VALID
                ? DtlsCertificateFailure.Expired
                : DtlsCertificateFailure.Chain;
            return Reject(failure, X509_verify_cert_error_string(_firstChainError), _firstChainError);
        }

        if (_firstNameError != 0)
        {
            return Reject(DtlsCertificateFailure.Name, $"{X509_verify_cert_error_string(_firstNameError)} (expected '{session.ExpectedHost}')", _firstNameError);
        }

        return true;
    }

    private bool Reject(DtlsCertificateFailure failure, string detail, int nativeError)
    {
        Failure = failure;
        Detail = detail;
        NativeError = nativeError;
        return false;
    }

    private static X509Chain BuildChain(X509Certificate2 leaf, List<byte[]> untrustedDer, DtlsOptions options)
    {
        var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        foreach (byte[] der in untrustedDer)
        {
            chain.ChainPolicy.ExtraStore.Add(X509CertificateLoader.LoadCertificate(der));
        }

        if (options.CaFile is not null || options.TrustedCertificates.Count > 0)
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(options.TrustedCertificates.ToArray());
            if (options.CaFile is not null)
            {
                chain.ChainPolicy.CustomTrustStore.ImportFromPemFile(options.CaFile);
            }
        }

        _ = chain.Build(leaf);
        return chain;
    }
}
