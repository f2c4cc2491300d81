using OpenSsl.Interop;

namespace OpenSsl.Dtls;

/// <summary>Process-wide counters for leak checks in tests and health endpoints.</summary>
public static class DtlsDiagnostics
{
    private static long _callbackHandles;

    /// <summary>Native OpenSSL objects (contexts, sessions, BIOs, certificates, keys) currently owned by managed handles.</summary>
    public static long LiveNativeHandles => OpenSslHandle.LiveCount;

    /// <summary><c>GCHandle</c>s currently given to OpenSSL so that its callbacks can find their session.</summary>
    public static long LiveCallbackHandles => Interlocked.Read(ref _callbackHandles);

    /// <summary>
    /// The OpenSSL this process runs on, in one line: <c>OpenSSL_version(OPENSSL_VERSION)</c>, the libssl
    /// and libcrypto paths and which rule chose them (override, <c>OPENSSLDTLS_LIBRARY_DIR</c> or the
    /// default search), for example <c>"OpenSSL 3.5.4 30 Sep 2025 (libssl /usr/lib/x86_64-linux-gnu/libssl.so.3, ...)"</c>.
    /// Loads OpenSSL on first use; thread-safe.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">No usable OpenSSL 3.x or 4.x could be loaded.</exception>
    public static string LoadedOpenSsl => OpenSslLibrary.Info.ToString();

    internal static void CallbackHandleAllocated() => Interlocked.Increment(ref _callbackHandles);

    internal static void CallbackHandleFreed() => Interlocked.Decrement(ref _callbackHandles);
}
