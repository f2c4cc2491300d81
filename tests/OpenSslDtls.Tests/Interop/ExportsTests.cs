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
    /// <summary>One declared import: where it is declared, the logical library, the native symbol.</summary>
    private sealed record Import(string Declaration, string Library, string EntryPoint)
    {
        public override string ToString() => $"{EntryPoint} ({Library}, declared by {Declaration})";
    }

    [Test]
    public void Every_import_is_exported_by_the_loaded_libssl_or_libcrypto()
    {
        IReadOnlyList<Import> imports = DeclaredImports();
        Assert.That(imports, Is.Not.Empty, "no [LibraryImport] found: the reflection no longer sees the declarations");

        var missing = new List<Import>();
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
                if (library == 0 || !NativeLibrary.TryGetExport(library, import.EntryPoint, out _))
                {
                    missing.Add(import);
                }
            }
        });

        TestContext.Out.WriteLine($"{imports.Count} imports checked against {OpenSslLibrary.LibSslName} and {OpenSslLibrary.LibCryptoName} " +
            $"({LibCrypto.OpenSSL_version(LibCrypto.OPENSSL_VERSION)})");
        Assert.That(missing, Is.Empty, () =>
            $"{missing.Count} import(s) not exported by the loaded OpenSSL:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", missing));
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
            .Select(m => new Import($"{m.method.DeclaringType!.Name}.{m.method.Name}", m.attribute!.LibraryName, m.attribute.EntryPoint ?? m.method.Name))
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
