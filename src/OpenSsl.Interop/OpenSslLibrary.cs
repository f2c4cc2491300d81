using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OpenSsl.Interop;

/// <summary>
/// Finds and loads the system's OpenSSL 3.x (libssl and libcrypto, always from the same place),
/// checks its version once, and lets an application point the library at another installation.
/// </summary>
/// <remarks>
/// Resolution order: the directory given to <see cref="SetLibraryDirectory"/>; else the directory
/// named by the <c>OPENSSLDTLS_LIBRARY_DIR</c> environment variable; else the platform's usual
/// names (Linux <c>libssl.so.3</c>, macOS <c>libssl.3.dylib</c> including Homebrew's locations,
/// Windows <c>libssl-3-x64.dll</c>). The choice is locked by the first native call.
/// </remarks>
public static class OpenSslLibrary
{
    /// <summary>Environment variable naming a directory that holds libssl and libcrypto.</summary>
    public const string DirectoryVariable = "OPENSSLDTLS_LIBRARY_DIR";

    /// <summary>The oldest OpenSSL this library supports: 3.0.0, as <c>OPENSSL_VERSION_NUMBER</c>.</summary>
    public const long MinimumVersionNumber = 0x30000000L;

    private static readonly Lock Gate = new();
    private static string? _directoryOverride;
    private static LoadedPair? _loaded;
    private static PlatformNotSupportedException? _failure;

    private sealed record LoadedPair(nint Ssl, nint Crypto, string SslName, string CryptoName, long Version);

#pragma warning disable CA2255 // A resolver must be in place before the first P/Invoke of this assembly runs; that is what module initializers are for.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() =>
        NativeLibrary.SetDllImportResolver(typeof(OpenSslLibrary).Assembly, Resolve);

    /// <summary>
    /// Loads OpenSSL from <paramref name="directory"/> instead of the default locations. Call it
    /// before anything else in this library; once OpenSSL is loaded the choice is fixed.
    /// </summary>
    /// <param name="directory">A directory holding both libssl and libcrypto.</param>
    /// <exception cref="InvalidOperationException">OpenSSL is already loaded.</exception>
    public static void SetLibraryDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        lock (Gate)
        {
            if (_loaded is not null || _failure is not null)
            {
                throw new InvalidOperationException(_loaded is not null
                    ? $"OpenSSL is already loaded (libssl from '{_loaded.SslName}'); set the library directory before the first use of OpenSslDtls."
                    : $"Loading OpenSSL already failed and the outcome is fixed for this process: {_failure!.Message}");
            }

            _directoryOverride = directory;
        }
    }

    /// <summary>Loads OpenSSL if it is not loaded yet and checks its version.</summary>
    /// <exception cref="PlatformNotSupportedException">
    /// No usable OpenSSL 3.x was found; the message names every file probed and how to override.
    /// </exception>
    public static void EnsureLoaded() => _ = Load();

    /// <summary>The loaded library's <c>OPENSSL_VERSION_NUMBER</c> (for example 0x30000130 for 3.0.19).</summary>
    public static long VersionNumber => Load().Version;

    /// <summary>The file name or path libssl was loaded from.</summary>
    public static string LibSslName => Load().SslName;

    /// <summary>The file name or path libcrypto was loaded from.</summary>
    public static string LibCryptoName => Load().CryptoName;

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName switch
        {
            Libraries.Ssl => Load().Ssl,
            Libraries.Crypto => Load().Crypto,
            _ => 0,
        };

    private static LoadedPair Load()
    {
        LoadedPair? loaded = Volatile.Read(ref _loaded);
        if (loaded is not null)
        {
            return loaded;
        }

        lock (Gate)
        {
            if (_failure is not null)
            {
                throw _failure;
            }

            if (_loaded is null)
            {
                try
                {
                    _loaded = Probe();
                }
                catch (PlatformNotSupportedException e)
                {
                    _failure = e;
                    throw;
                }
            }

            return _loaded;
        }
    }

    private static LoadedPair Probe()
    {
        string? directory = _directoryOverride ?? NullIfEmpty(Environment.GetEnvironmentVariable(DirectoryVariable));
        var probed = new List<string>();
        foreach ((string ssl, string crypto) in Candidates(directory))
        {
            probed.Add(ssl);
            // libcrypto first: libssl depends on it, and loading it by our path makes sure the pair matches.
            if (!NativeLibrary.TryLoad(crypto, out nint cryptoHandle))
            {
                continue;
            }

            if (!NativeLibrary.TryLoad(ssl, out nint sslHandle))
            {
                NativeLibrary.Free(cryptoHandle);
                continue;
            }

            long version = ReadVersion(cryptoHandle);
            if (version < MinimumVersionNumber)
            {
                NativeLibrary.Free(sslHandle);
                NativeLibrary.Free(cryptoHandle);
                throw new PlatformNotSupportedException(
                    $"OpenSSL at '{ssl}' is version 0x{version:x8}; OpenSslDtls needs OpenSSL 3.0 or newer. {HowToOverride}");
            }

            return new LoadedPair(sslHandle, cryptoHandle, ssl, crypto, version);
        }

        string where = directory is null ? "the default library search path" : $"directory '{directory}'";
        throw new PlatformNotSupportedException(
            $"OpenSSL 3.x (libssl and libcrypto) could not be loaded from {where}; probed: {string.Join(", ", probed)}. {HowToOverride}");
    }

    private const string HowToOverride =
        "Install OpenSSL 3 (Debian/Ubuntu: apt-get install libssl3), or set " + DirectoryVariable +
        " or call OpenSslLibrary.SetLibraryDirectory with a directory holding libssl and libcrypto 3.x.";

    private static unsafe long ReadVersion(nint crypto)
    {
        if (!NativeLibrary.TryGetExport(crypto, "OpenSSL_version_num", out nint export))
        {
            return 0; // OpenSSL 1.0 and older named it SSLeay.
        }

        return (long)((delegate* unmanaged<nuint>)export)();
    }

    private static IEnumerable<(string Ssl, string Crypto)> Candidates(string? directory)
    {
        IEnumerable<(string, string)> names = FileNames();
        if (directory is not null)
        {
            return names.Select(n => (Path.Combine(directory, n.Item1), Path.Combine(directory, n.Item2)));
        }

        if (OperatingSystem.IsMacOS())
        {
            // Homebrew installs keg-only; neither location is on the default dyld search path.
            string[] brew = ["/opt/homebrew/opt/openssl@3/lib", "/usr/local/opt/openssl@3/lib"];
            return names.Concat(brew.SelectMany(d => names.Select(n => (Path.Combine(d, n.Item1), Path.Combine(d, n.Item2)))));
        }

        return names;
    }

    private static IEnumerable<(string, string)> FileNames()
    {
        if (OperatingSystem.IsWindows())
        {
            string arch = RuntimeInformation.ProcessArchitecture switch
            {
                Architecture.X64 => "-x64",
                Architecture.Arm64 => "-arm64",
                _ => string.Empty,
            };
            return [($"libssl-3{arch}.dll", $"libcrypto-3{arch}.dll")];
        }

        if (OperatingSystem.IsMacOS())
        {
            return [("libssl.3.dylib", "libcrypto.3.dylib")];
        }

        return [("libssl.so.3", "libcrypto.so.3")];
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
