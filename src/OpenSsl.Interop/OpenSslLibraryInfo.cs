namespace OpenSsl.Interop;

/// <summary>What <see cref="OpenSslLibrary"/> loaded, for logs and support requests.</summary>
/// <param name="VersionText">
/// <c>OpenSSL_version(OPENSSL_VERSION)</c> of the loaded libcrypto, for example
/// <c>"OpenSSL 3.5.4 30 Sep 2025"</c> (man OpenSSL_version(3)).
/// </param>
/// <param name="VersionNumber"><c>OpenSSL_version_num()</c>: <c>0xMNN00PP0</c>, for example 0x30500040 for 3.5.4.</param>
/// <param name="LibSslPath">The file libssl was loaded from (on Linux the resolved path; elsewhere the name as probed).</param>
/// <param name="LibCryptoPath">The file libcrypto was loaded from (same rule).</param>
/// <param name="Source">Which rule chose the location.</param>
public sealed record OpenSslLibraryInfo(string VersionText, long VersionNumber, string LibSslPath, string LibCryptoPath, OpenSslLibrarySource Source)
{
    /// <summary>The major version (3 or 4), from <see cref="VersionNumber"/>.</summary>
    public int Major => (int)((VersionNumber >> 28) & 0xF);

    /// <summary>The minor version, from <see cref="VersionNumber"/>.</summary>
    public int Minor => (int)((VersionNumber >> 20) & 0xFF);

    /// <summary>True if the loaded OpenSSL is at least <paramref name="major"/>.<paramref name="minor"/>.</summary>
    /// <param name="major">Major version, for example 3.</param>
    /// <param name="minor">Minor version, for example 2.</param>
    public bool IsAtLeast(int major, int minor) => Major > major || (Major == major && Minor >= minor);

    /// <summary>One line for a log: version text, then both paths and the rule that chose them.</summary>
    public override string ToString() => $"{VersionText} (libssl {LibSslPath}, libcrypto {LibCryptoPath}; {Source})";
}

/// <summary>Which rule of <see cref="OpenSslLibrary"/> chose where OpenSSL was loaded from.</summary>
public enum OpenSslLibrarySource
{
    /// <summary>The platform's default library search (and on macOS Homebrew's locations).</summary>
    DefaultSearch,

    /// <summary>The directory named by <see cref="OpenSslLibrary.DirectoryVariable"/>.</summary>
    EnvironmentVariable,

    /// <summary>The directory given to <see cref="OpenSslLibrary.SetLibraryDirectory"/>.</summary>
    SetLibraryDirectory,
}
