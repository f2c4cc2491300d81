using System.Reflection;
using System.Runtime.InteropServices;
using NUnit.Framework;
using OpenSsl.Interop;

namespace OpenSslDtls.Tests.Interop;

/// <summary>
/// Every <c>[LibraryImport]</c> of OpenSsl.Interop names a function the loaded OpenSSL exports, so a typo or a
/// function newer than the installed library fails here, listed by name, rather than as an
/// <see cref="EntryPointNotFoundException"/> in the middle of someone's handshake.
/// </summary>
[TestFixture]
public sealed class ExportsTests
{
    /// <summary>One declared import: where it is declared, the logical library, the native symbol, and for an optional one which versions export it.</summary>
    private sealed record Import(string Declaration, string Library, string EntryPoint, string? OptionalAvailability)
    {
        public override string ToString() => $"{EntryPoint} ({Library}, declared by {Declaration}{(OptionalAvailability is null ? string.Empty : $"; optional: {OptionalAvailability}")})";
    }

    /// <summary>
    /// Runs against whichever OpenSSL is loaded, so the version matrix (.ci/openssl-versions.sh) runs it per
    /// version: every required import must be exported; the optional ones (<see cref="OptionalExportAttribute"/>)
    /// are listed with whether this version has them, and <see cref="OpenSslLibrary.HasExport"/> must agree.
    /// </summary>
    [Test]
    public void Every_required_import_is_exported_by_the_loaded_OpenSSL_and_the_optional_ones_are_listed()
    {
        IReadOnlyList<Import> imports = DeclaredImports();
        Assert.That(imports, Is.Not.Empty, "no [LibraryImport] found: the reflection no longer sees the declarations");

        var missing = new List<Import>();
        var optional = new List<string>();
        WithLoadedLibraries((ssl, crypto) =>
        {
            foreach (Import import in imports)
            {
                nint library = import.Library switch
                {
                    Libraries.Ssl => ssl,
                    Libraries.Crypto => crypto,
                    _ => 0,
                };
                bool exported = library != 0 && NativeLibrary.TryGetExport(library, import.EntryPoint, out _);
                Assert.That(OpenSslLibrary.HasExport(import.Library, import.EntryPoint), Is.EqualTo(exported), import.ToString());
                if (import.OptionalAvailability is not null)
                {
                    optional.Add($"{import.EntryPoint} ({import.OptionalAvailability}): {(exported ? "exported" : "absent")}");
                }
                else if (!exported)
                {
                    missing.Add(import);
                }
            }
        });

        TestContext.Out.WriteLine($"{OpenSslLibrary.Info}: {imports.Count} imports checked, {imports.Count - optional.Count} required; " +
            $"optional for this version: {(optional.Count == 0 ? "none" : string.Join("; ", optional))}");
        Assert.That(missing, Is.Empty, () =>
            $"{missing.Count} required import(s) not exported by {OpenSslLibrary.Info.VersionText}:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", missing));
    }

    [Test]
    public void Every_libssl_import_is_defined_in_libssl_itself()
    {
        // dlsym on libssl also finds libcrypto's functions (it searches the library's dependencies), so a
        // libcrypto function declared under Libraries.Ssl works on Linux yet fails on Windows, where
        // GetProcAddress looks in the named DLL only. Same address from libcrypto = defined there.
        var misplaced = new List<Import>();
        WithLoadedLibraries((ssl, crypto) =>
        {
            foreach (Import import in DeclaredImports().Where(i => i.Library == Libraries.Ssl))
            {
                if (NativeLibrary.TryGetExport(crypto, import.EntryPoint, out nint inCrypto)
                    && NativeLibrary.TryGetExport(ssl, import.EntryPoint, out nint inSsl)
                    && inCrypto == inSsl)
                {
                    misplaced.Add(import);
                }
            }
        });

        Assert.That(misplaced, Is.Empty, () => "declared under libssl but defined in libcrypto: " + string.Join(", ", misplaced));
    }

    private static List<Import> DeclaredImports()
    {
        // The source generator writes the method body in another partial declaration; the attribute stays on
        // the user-declared one, which may be private (the raw import behind a string-returning wrapper).
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly;
        return typeof(OpenSslLibrary).Assembly.GetTypes()
            .SelectMany(type => type.GetMethods(all))
            .Select(method => (method, attribute: method.GetCustomAttribute<LibraryImportAttribute>()))
            .Where(m => m.attribute is not null)
            .Select(m => new Import($"{m.method.DeclaringType!.Name}.{m.method.Name}", m.attribute!.LibraryName, m.attribute.EntryPoint ?? m.method.Name,
                m.method.GetCustomAttribute<OptionalExportAttribute>()?.Availability))
            .ToList();
    }

    /// <summary>Opens the very files <see cref="OpenSslLibrary"/> loaded (one more reference each), runs <paramref name="use"/>, closes them.</summary>
    private static void WithLoadedLibraries(Action<nint, nint> use)
    {
        nint ssl = NativeLibrary.Load(OpenSslLibrary.LibSslName);
        try
        {
            nint crypto = NativeLibrary.Load(OpenSslLibrary.LibCryptoName);
            try
            {
                use(ssl, crypto);
            }
            finally
            {
                NativeLibrary.Free(crypto);
            }
        }
        finally
        {
            NativeLibrary.Free(ssl);
        }
    }
}
