using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OpenSsl.Interop;

/// <summary>
/// Finds and loads OpenSSL 3.x or 4.x (libssl and libcrypto, always from the same place and of the
/// same major version), checks its version once, and lets an application point the library at
/// another installation.
/// </summary>
/// <remarks>
/// <para>
/// Where: the directory given to <see cref="SetLibraryDirectory"/>; else the directory named by the
/// <c>OPENSSLDTLS_LIBRARY_DIR</c> environment variable; else the platform's default search (and on
/// macOS Homebrew's keg-only locations). An override is final: nothing outside that directory is tried.
/// </para>
/// <para>
/// Which file, in every location: the newest major version first, so 4 before 3 (Linux
/// <c>libssl.so.4</c> then <c>libssl.so.3</c>; macOS <c>libssl.4.dylib</c> then <c>libssl.3.dylib</c>;
/// Windows <c>libssl-4-x64.dll</c> then <c>libssl-3-x64.dll</c>). A system that has both keeps 3 for
/// older programs during its transition; 4 is the line that gets new protocol work (DTLS 1.3 arrives in
/// 4.1), and both pass the same test suite (docs/openssl-versions.md). To use 3 where 4 is installed,
/// point the override at a directory holding only the 3 files.
/// </para>
/// <para>The choice is locked by the first native call; <see cref="Loaded"/> says what was chosen.</para>
/// </remarks>
public static class OpenSslLibrary
{
    /// <summary>Environment variable naming a directory that holds libssl and libcrypto.</summary>
    public const string DirectoryVariable = "OPENSSLDTLS_LIBRARY_DIR";

    /// <summary>The oldest OpenSSL this library supports: 3.0.0, as <c>OPENSSL_VERSION_NUMBER</c>.</summary>
    public const long MinimumVersionNumber = 0x30000000L;

    /// <summary>The first OpenSSL this library does not accept: 5.0.0, as <c>OPENSSL_VERSION_NUMBER</c> (major versions may remove APIs).</summary>
    public const long UnsupportedVersionNumber = 0x50000000L;

    /// <summary>The major versions probed, newest first (the order of <see cref="FileNamesFor"/>).</summary>
    private static readonly int[] Majors = [4, 3];

    private static readonly Lock Gate = new();
    private static string? _directoryOverride;
    private static Loaded? _loaded;
    private static PlatformNotSupportedException? _failure;

    /// <summary>
    /// The loaded pair. <see cref="Info"/> is made on first use: finding the files' paths reads
    /// <c>/proc/self/maps</c>, work that no handshake needs (docs/benchmarks.md, cold start).
    /// </summary>
    private sealed class Loaded(nint ssl, nint crypto, long version, string versionText, string sslProbed, string cryptoProbed, OpenSslLibrarySource source)
    {
        private OpenSslLibraryInfo? _info;

        public nint Ssl => ssl;

        public nint Crypto => crypto;

        public long Version => version;

        public OpenSslLibraryInfo Info => LazyInitializer.EnsureInitialized(ref _info, () => new OpenSslLibraryInfo(
            versionText, version, LoadedPath(ssl, "SSL_new") ?? sslProbed, LoadedPath(crypto, "OpenSSL_version_num") ?? cryptoProbed, source));
    }

#pragma warning disable CA2255 // A resolver must be in place before the first P/Invoke of this assembly runs; that is what module initializers are for.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() =>
        NativeLibrary.SetDllImportResolver(typeof(OpenSslLibrary).Assembly, Resolve);

    /// <summary>
    /// Loads OpenSSL from <paramref name="directory"/> instead of the default locations. Call it
    /// before anything else in this library; once OpenSSL is loaded the choice is fixed.
    /// </summary>
    /// <param name="directory">A directory holding both libssl and libcrypto (3.x or 4.x).</param>
    /// <exception cref="InvalidOperationException">OpenSSL is already loaded.</exception>
    public static void SetLibraryDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        lock (Gate)
        {
            if (_loaded is not null || _failure is not null)
            {
                throw new InvalidOperationException(_loaded is not null
                    ? $"OpenSSL is already loaded (libssl from '{_loaded.Info.LibSslPath}'); set the library directory before the first use of OpenSslDtls."
                    : $"Loading OpenSSL already failed and the outcome is fixed for this process: {_failure!.Message}");
            }

            _directoryOverride = directory;
        }
    }

    /// <summary>Loads OpenSSL if it is not loaded yet and checks its version.</summary>
    /// <exception cref="PlatformNotSupportedException">
    /// No usable OpenSSL 3.x or 4.x was found; the message names every file probed, why each was refused, and how to override.
    /// </exception>
    public static void EnsureLoaded() => _ = Load();

    /// <summary>
    /// What was loaded: version text and number, the files, and which rule chose them. Loads OpenSSL
    /// on first use. Thread-safe; the value never changes afterwards.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">No usable OpenSSL could be loaded.</exception>
    public static OpenSslLibraryInfo Info => Load().Info;

    /// <summary>The loaded library's <c>OPENSSL_VERSION_NUMBER</c> (for example 0x30000130 for 3.0.19).</summary>
    public static long VersionNumber => Load().Version;

    /// <summary>The path libssl was loaded from (the file name as probed where the platform gives no path).</summary>
    public static string LibSslName => Load().Info.LibSslPath;

    /// <summary>The path libcrypto was loaded from (the file name as probed where the platform gives no path).</summary>
    public static string LibCryptoName => Load().Info.LibCryptoPath;

    /// <summary>
    /// The libssl/libcrypto file-name pairs probed in each location, in order, for this platform and
    /// process architecture (for example <c>("libssl.so.4", "libcrypto.so.4")</c> then <c>.so.3</c>).
    /// </summary>
    public static IReadOnlyList<(string LibSsl, string LibCrypto)> CandidateFileNames => [.. Majors.Select(FileNamesFor)];

    /// <summary>
    /// True if the loaded libssl (<paramref name="library"/> = <see cref="Libraries.Ssl"/>) or libcrypto
    /// (<see cref="Libraries.Crypto"/>) exports <paramref name="function"/>: the run-time check before calling
    /// an import marked <see cref="OptionalExportAttribute"/> (never a compile-time switch).
    /// </summary>
    /// <param name="library"><see cref="Libraries.Ssl"/> or <see cref="Libraries.Crypto"/>.</param>
    /// <param name="function">The exported C name, for example <c>"BIO_s_dgram_mem"</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="library"/> is neither logical name.</exception>
    /// <exception cref="PlatformNotSupportedException">No usable OpenSSL could be loaded.</exception>
    public static bool HasExport(string library, string function)
    {
        ArgumentException.ThrowIfNullOrEmpty(function);
        Loaded loaded = Load();
        nint handle = library switch
        {
            Libraries.Ssl => loaded.Ssl,
            Libraries.Crypto => loaded.Crypto,
            _ => throw new ArgumentException($"'{library}' is not {Libraries.Ssl} or {Libraries.Crypto}.", nameof(library)),
        };
        return NativeLibrary.TryGetExport(handle, function, out _);
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName switch
        {
            Libraries.Ssl => Load().Ssl,
            Libraries.Crypto => Load().Crypto,
            _ => 0,
        };

    private static Loaded Load()
    {
        Loaded? loaded = Volatile.Read(ref _loaded);
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

    private static Loaded Probe()
    {
        OpenSslLibrarySource source = _directoryOverride is not null ? OpenSslLibrarySource.SetLibraryDirectory
            : NullIfEmpty(Environment.GetEnvironmentVariable(DirectoryVariable)) is not null ? OpenSslLibrarySource.EnvironmentVariable
            : OpenSslLibrarySource.DefaultSearch;
        string? directory = _directoryOverride ?? NullIfEmpty(Environment.GetEnvironmentVariable(DirectoryVariable));
        var probed = new List<string>();
        foreach ((string ssl, string crypto) in Candidates(directory))
        {
            // libcrypto first: libssl depends on it, and loading it by our path makes sure the pair matches.
            if (!NativeLibrary.TryLoad(crypto, out nint cryptoHandle))
            {
                probed.Add($"{ssl} (not found)");
                continue;
            }

            if (!NativeLibrary.TryLoad(ssl, out nint sslHandle))
            {
                NativeLibrary.Free(cryptoHandle);
                probed.Add($"{ssl} (libcrypto found, libssl not)");
                continue;
            }

            long version = ReadVersion(cryptoHandle);
            if (version is < MinimumVersionNumber or >= UnsupportedVersionNumber)
            {
                NativeLibrary.Free(sslHandle);
                NativeLibrary.Free(cryptoHandle);
                probed.Add($"{ssl} (version 0x{version:x8}, outside 3.0 to 4.x)");
                continue;
            }

            return new Loaded(sslHandle, cryptoHandle, version, ReadVersionText(cryptoHandle) ?? $"OpenSSL 0x{version:x8}", ssl, crypto, source);
        }

        string where = directory is null ? "the default library search path" : $"directory '{directory}' ({source})";
        throw new PlatformNotSupportedException(
            $"OpenSSL 3.x or 4.x (libssl and libcrypto) could not be loaded from {where}; probed: {string.Join(", ", probed)}. {HowToOverride}");
    }

    private const string HowToOverride =
        "Install OpenSSL 3 or 4 (Debian/Ubuntu: apt-get install libssl3), or set " + DirectoryVariable +
        " or call OpenSslLibrary.SetLibraryDirectory with a directory holding libssl and libcrypto 3.x or 4.x.";

    private static unsafe long ReadVersion(nint crypto)
    {
        if (!NativeLibrary.TryGetExport(crypto, "OpenSSL_version_num", out nint export))
        {
            return 0; // OpenSSL 1.0 and older named it SSLeay.
        }

        return (long)((delegate* unmanaged<nuint>)export)();
    }

    // Through the export, not the LibraryImport: the resolver is still choosing the library.
    private static unsafe string? ReadVersionText(nint crypto) =>
        NativeLibrary.TryGetExport(crypto, "OpenSSL_version", out nint export)
            ? Marshal.PtrToStringUTF8(((delegate* unmanaged<int, nint>)export)(LibCrypto.OPENSSL_VERSION))
            : null;

    /// <summary>
    /// The file a loaded library came from, where the platform says so without another native import:
    /// on Linux the mapping in <c>/proc/self/maps</c> that holds one of its exports. Elsewhere null
    /// (the caller keeps the name it probed).
    /// </summary>
    private static string? LoadedPath(nint library, string export)
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryGetExport(library, export, out nint address))
        {
            return null;
        }

        try
        {
            foreach (string line in File.ReadLines("/proc/self/maps"))
            {
                // "start-end perms offset dev inode   path"
                int dash = line.IndexOf('-', StringComparison.Ordinal);
                int space = line.IndexOf(' ', StringComparison.Ordinal);
                int slash = line.IndexOf('/', StringComparison.Ordinal);
                if (dash < 0 || space < dash || slash < 0
                    || !ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong start)
                    || !ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong end))
                {
                    continue;
                }

                if ((ulong)address >= start && (ulong)address < end)
                {
                    return line[slash..];
                }
            }
        }
        catch (IOException)
        {
            // Not mounted (some containers): the probed name is still true.
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    private static IEnumerable<(string Ssl, string Crypto)> Candidates(string? directory)
    {
        // A loop, not Majors.Select: LINQ over value tuples was JIT-compiled even under ReadyToRun (cold start).
        var names = new (string Ssl, string Crypto)[Majors.Length];
        for (int i = 0; i < Majors.Length; i++)
        {
            names[i] = FileNamesFor(Majors[i]);
        }

        if (directory is not null)
        {
            return names.Select(n => (Path.Combine(directory, n.Item1), Path.Combine(directory, n.Item2)));
        }

        if (OperatingSystem.IsMacOS())
        {
            // Homebrew installs keg-only; none of these is on the default dyld search path. openssl@4 and
            // openssl@3 are the versioned kegs, "openssl" is Homebrew's alias for the newest.
            string[] brew = ["/opt/homebrew/opt/openssl@4/lib", "/usr/local/opt/openssl@4/lib", "/opt/homebrew/opt/openssl@3/lib",
                "/usr/local/opt/openssl@3/lib", "/opt/homebrew/opt/openssl/lib", "/usr/local/opt/openssl/lib"];
            return names.Concat(brew.SelectMany(d => names.Select(n => (Path.Combine(d, n.Item1), Path.Combine(d, n.Item2)))));
        }

        return names;
    }

    private static (string Ssl, string Crypto) FileNamesFor(int major)
    {
        if (OperatingSystem.IsWindows())
        {
            string arch = RuntimeInformation.ProcessArchitecture switch
            {
                Architecture.X64 => "-x64",
                Architecture.Arm64 => "-arm64",
                _ => string.Empty,
            };
            return ($"libssl-{major}{arch}.dll", $"libcrypto-{major}{arch}.dll");
        }

        if (OperatingSystem.IsMacOS())
        {
            return ($"libssl.{major}.dylib", $"libcrypto.{major}.dylib");
        }

        return ($"libssl.so.{major}", $"libcrypto.so.{major}");
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
