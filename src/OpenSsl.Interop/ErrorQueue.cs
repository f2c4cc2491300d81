using System.Runtime.InteropServices;

namespace OpenSsl.Interop;

/// <summary>
/// Reads the calling thread's OpenSSL error queue. The queue is thread-local: clear it before a
/// call and read it right after, on the same thread, before any <c>await</c>.
/// </summary>
public static class ErrorQueue
{
    /// <summary>Empties the calling thread's error queue (<c>ERR_clear_error</c>).</summary>
    public static void Clear() => LibCrypto.ERR_clear_error();

    /// <summary>Drains the calling thread's error queue, oldest entry first.</summary>
    public static unsafe IReadOnlyList<OpenSslError> Drain()
    {
        List<OpenSslError>? errors = null;
        byte* buffer = stackalloc byte[256];
        while (true)
        {
            nuint code = LibCrypto.ERR_get_error_all(out _, out _, out nint func, out nint data, out int flags);
            if (code == 0)
            {
                break;
            }

            LibCrypto.ERR_error_string_n(code, buffer, 256);
            errors ??= new List<OpenSslError>();
            errors.Add(new OpenSslError(
                code,
                LibCrypto.ERR_lib_error_string(code),
                LibCrypto.ERR_reason_error_string(code),
                Marshal.PtrToStringUTF8((nint)buffer) ?? $"error:{code:x}",
                Marshal.PtrToStringUTF8(func),
                (flags & LibCrypto.ERR_TXT_STRING) != 0 ? NullIfEmpty(Marshal.PtrToStringUTF8(data)) : null));
        }

        return errors is null ? Array.Empty<OpenSslError>() : errors;
    }

    /// <summary>Drains the queue into an <see cref="OpenSslException"/> for <paramref name="operation"/>.</summary>
    public static OpenSslException ToException(string operation) => new(operation, Drain());

    /// <summary>Throws an <see cref="OpenSslException"/> built from the queue unless <paramref name="result"/> is 1 (OpenSSL's success).</summary>
    public static void ThrowIfNotOne(int result, string operation)
    {
        if (result != 1)
        {
            throw ToException(operation);
        }
    }

    /// <summary>Throws an <see cref="OpenSslException"/> built from the queue unless <paramref name="result"/> is positive.</summary>
    public static int ThrowIfNotPositive(int result, string operation)
    {
        if (result <= 0)
        {
            throw ToException(operation);
        }

        return result;
    }

    /// <summary>Returns <paramref name="handle"/> if valid; otherwise disposes it and throws from the queue.</summary>
    public static T ThrowIfInvalid<T>(T handle, string operation)
        where T : SafeHandle
    {
        if (handle.IsInvalid)
        {
            handle.Dispose();
            throw ToException(operation);
        }

        return handle;
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
