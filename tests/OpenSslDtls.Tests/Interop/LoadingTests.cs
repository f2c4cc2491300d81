using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSsl.Interop;
using OpenSslDtls.Tests.Support;

namespace OpenSslDtls.Tests.Interop;

/// <summary>
/// Which OpenSSL the resolver picks (docs/openssl-versions.md, "Loading"): major 4 before 3 in every
/// location, an override that wins over everything, and a report of what was loaded. Order tests run in a
/// fresh copy of OpenSsl.Interop (<see cref="FreshInterop"/>) over a directory of copies of the loaded
/// library under the names being ordered: the copies' paths show which name was taken.
/// </summary>
[TestFixture]
public sealed class LoadingTests
{
    /// <summary>Set by .ci/openssl-versions.sh: the suite's <c>openssl version</c>, which this process must have loaded.</summary>
    private const string ExpectedVariable = "OPENSSLDTLS_EXPECTED_OPENSSL";

    private TempDirectory _temp = null!;

    [SetUp]
    public void CreateDirectory() => _temp = TempDirectory.Create(TestContext.CurrentContext.Test.MethodName ?? "loading");

    [TearDown]
    public void DeleteDirectory() => _temp.Dispose();

    [Test]
    public void Each_platform_probes_major_4_before_major_3()
    {
        (string, string)[] expected = OperatingSystem.IsWindows()
            ? [($"libssl-4{WindowsSuffix}.dll", $"libcrypto-4{WindowsSuffix}.dll"), ($"libssl-3{WindowsSuffix}.dll", $"libcrypto-3{WindowsSuffix}.dll")]
            : OperatingSystem.IsMacOS()
                ? [("libssl.4.dylib", "libcrypto.4.dylib"), ("libssl.3.dylib", "libcrypto.3.dylib")]
                : [("libssl.so.4", "libcrypto.so.4"), ("libssl.so.3", "libcrypto.so.3")];

        Assert.That(OpenSslLibrary.CandidateFileNames, Is.EqualTo(expected));
    }

    [Test]
    [Platform("Linux")]
    public void A_directory_with_both_majors_loads_the_4_files()
    {
        CopyLoadedLibraryAs(4);
        CopyLoadedLibraryAs(3);

        FreshInterop.LoadedView loaded = Load(FreshInterop.Directory(_temp.Path));

        Assert.Multiple(() =>
        {
            Assert.That(loaded.LibSslPath, Is.EqualTo(_temp.File("libssl.so.4")));
            Assert.That(loaded.LibCryptoPath, Is.EqualTo(_temp.File("libcrypto.so.4")));
            Assert.That(loaded.Source, Is.EqualTo(nameof(OpenSslLibrarySource.SetLibraryDirectory)));
        });
    }

    [Test]
    [Platform("Linux")]
    public void A_directory_with_only_major_3_loads_the_3_files()
    {
        CopyLoadedLibraryAs(3);

        FreshInterop.LoadedView loaded = Load(FreshInterop.Directory(_temp.Path));

        Assert.That((loaded.LibSslPath, loaded.LibCryptoPath), Is.EqualTo((_temp.File("libssl.so.3"), _temp.File("libcrypto.so.3"))));
    }

    [Test]
    [Platform("Linux")]
    public void A_libssl_without_its_libcrypto_is_skipped_and_named_in_the_failure()
    {
        // Half a pair must never be mixed with another installation's other half.
        File.Copy(OpenSslLibrary.Info.LibSslPath, _temp.File("libssl.so.4"));

        PlatformNotSupportedException failure = FreshInterop.LoadExpectingFailure(FreshInterop.Directory(_temp.Path));

        Assert.That(failure.Message, Does.Contain(_temp.File("libssl.so.4")).And.Contain(_temp.File("libssl.so.3")));
    }

    [Test]
    [Platform("Linux")]
    [NonParallelizable] // sets a process-wide environment variable
    public void SetLibraryDirectory_wins_over_the_environment_variable_and_the_variable_over_the_default_search()
    {
        CopyLoadedLibraryAs(3);
        string? saved = Environment.GetEnvironmentVariable(OpenSslLibrary.DirectoryVariable);
        try
        {
            Environment.SetEnvironmentVariable(OpenSslLibrary.DirectoryVariable, "/nonexistent/env-dir");
            FreshInterop.LoadedView byCall = Load(FreshInterop.Directory(_temp.Path));

            Environment.SetEnvironmentVariable(OpenSslLibrary.DirectoryVariable, _temp.Path);
            FreshInterop.LoadedView byVariable = Load(setUp: null);

            Assert.Multiple(() =>
            {
                Assert.That(byCall.LibSslPath, Is.EqualTo(_temp.File("libssl.so.3")));
                Assert.That(byCall.Source, Is.EqualTo(nameof(OpenSslLibrarySource.SetLibraryDirectory)));
                Assert.That(byVariable.LibSslPath, Is.EqualTo(_temp.File("libssl.so.3")));
                Assert.That(byVariable.Source, Is.EqualTo(nameof(OpenSslLibrarySource.EnvironmentVariable)));
            });
        }
        finally
        {
            Environment.SetEnvironmentVariable(OpenSslLibrary.DirectoryVariable, saved);
        }
    }

    [Test]
    public void Info_reports_the_version_text_number_and_files_that_were_loaded()
    {
        OpenSslLibraryInfo info = OpenSslLibrary.Info;
        string? expected = Environment.GetEnvironmentVariable(ExpectedVariable);
        TestContext.Out.WriteLine($"{info}; {ExpectedVariable}={expected ?? "(not set)"}");

        Assert.Multiple(() =>
        {
            Assert.That(info.VersionText, Is.EqualTo(LibCrypto.OpenSSL_version(LibCrypto.OPENSSL_VERSION)));
            Assert.That(info.VersionNumber, Is.EqualTo((long)LibCrypto.OpenSSL_version_num()));
            Assert.That(info.Major, Is.InRange(3, 4));
            Assert.That(info.VersionText, Does.StartWith($"OpenSSL {info.Major}.{info.Minor}."));
            Assert.That(DtlsDiagnostics.LoadedOpenSsl, Is.EqualTo(info.ToString()).And.Contain(info.LibSslPath).And.Contain(info.VersionText));
            if (OperatingSystem.IsLinux())
            {
                Assert.That(info.LibSslPath, Does.StartWith("/").And.Contain("libssl.so." + info.Major), "the resolved file");
                Assert.That(File.Exists(info.LibCryptoPath), info.LibCryptoPath);
            }

            // The version matrix names the version it meant to test; this proves the run loaded that one.
            if (!string.IsNullOrEmpty(expected))
            {
                Assert.That(info.VersionText, Does.StartWith($"OpenSSL {expected} "));
            }
        });
    }

    private static string WindowsSuffix => System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "-x64",
        System.Runtime.InteropServices.Architecture.Arm64 => "-arm64",
        _ => string.Empty,
    };

    private static FreshInterop.LoadedView Load(Action<Type>? setUp)
    {
        Exception? failure = FreshInterop.TryLoad(setUp, out FreshInterop.LoadedView? loaded);
        Assert.That(failure, Is.Null, () => failure!.Message);
        return loaded!;
    }

    /// <summary>Copies of this process's libssl and libcrypto, named as major <paramref name="major"/> (distinct files, so the loader maps them anew).</summary>
    private void CopyLoadedLibraryAs(int major)
    {
        File.Copy(OpenSslLibrary.Info.LibSslPath, _temp.File($"libssl.so.{major}"));
        File.Copy(OpenSslLibrary.Info.LibCryptoPath, _temp.File($"libcrypto.so.{major}"));
    }
}
