namespace OpenSslDtls.Tests.Support;

/// <summary>The PEM files <see cref="TestCertificate.WritePem"/> wrote.</summary>
/// <param name="CertificateFile">The certificate alone.</param>
/// <param name="PrivateKeyFile">Its private key, unencrypted PKCS#8.</param>
/// <param name="ChainFile">
/// The certificate followed by its intermediates, leaf first and without the root: what
/// <c>SSL_CTX_use_certificate_chain_file</c> reads.
/// </param>
/// <param name="TrustAnchorFile">
/// The root of the chain (the certificate itself when self-signed): what a peer passes to
/// <c>SSL_CTX_load_verify_locations</c> to trust it.
/// </param>
public sealed record TestPemFiles(string CertificateFile, string PrivateKeyFile, string ChainFile, string TrustAnchorFile);
