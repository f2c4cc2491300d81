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

    internal static void CallbackHandleAllocated() => Interlocked.Increment(ref _callbackHandles);

    internal static void CallbackHandleFreed() => Interlocked.Decrement(ref _callbackHandles);
}
