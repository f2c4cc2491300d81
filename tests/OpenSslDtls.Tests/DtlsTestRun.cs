using NUnit.Framework;
using OpenSslDtls.Tests.Dtls;

/// <summary>
/// Deletes the PEM files the tests wrote once every fixture of the assembly has run. Outside any
/// namespace, so that it wraps them all: tests in other namespaces (Peers, Robustness) write files too.
/// </summary>
[SetUpFixture]
#pragma warning disable CA1050 // An NUnit SetUpFixture must sit outside every namespace to wrap the whole assembly.
public sealed class DtlsTestRun
#pragma warning restore CA1050
{
    /// <summary>Removes the temporary directory.</summary>
    [OneTimeTearDown]
    public void DeleteTemporaryFiles() => DtlsTestCertificates.DeleteFiles();
}
