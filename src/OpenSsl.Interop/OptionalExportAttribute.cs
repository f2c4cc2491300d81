namespace OpenSsl.Interop;

/// <summary>
/// Marks a <c>LibraryImport</c> whose function not every supported OpenSSL exports (newer than 3.0, or
/// removed in 4.0). Callers must check <see cref="OpenSslLibrary.HasExport"/> before calling it; the
/// exports test lists these per loaded version instead of requiring them (docs/openssl-versions.md).
/// No import carries it today: every function this library imports is exported by 3.0 through 4.0.
/// </summary>
/// <param name="availability">Which versions export it, for example "3.2 and newer" or "3.x only (removed in 4.0)".</param>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class OptionalExportAttribute(string availability) : Attribute
{
    /// <summary>Which versions export it.</summary>
    public string Availability { get; } = availability;
}
