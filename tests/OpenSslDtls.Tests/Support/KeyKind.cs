namespace OpenSslDtls.Tests.Support;

/// <summary>The key algorithm of a test certificate.</summary>
public enum KeyKind
{
    /// <summary>ECDSA on NIST P-256, signed with SHA-256.</summary>
    EcdsaP256,

    /// <summary>RSA 2048, PKCS#1 v1.5 signatures with SHA-256.</summary>
    Rsa2048,

    /// <summary>RSA 4096; the keys come from a small pool generated once per test run (each takes about a second).</summary>
    Rsa4096,
}
