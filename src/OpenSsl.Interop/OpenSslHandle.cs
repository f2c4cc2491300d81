using System.Runtime.InteropServices;

namespace OpenSsl.Interop;

/// <summary>
/// Base of every handle this assembly hands out: zero is invalid, release only frees, and each
/// instance is counted from construction until it is disposed, finalized or its ownership moves to
/// another native object, so tests can assert that nothing leaked.
/// </summary>
public abstract class OpenSslHandle : SafeHandle
{
    private static long _live;
    private int _counted = 1;

    /// <summary>Creates an invalid handle that owns what it will be given.</summary>
    protected OpenSslHandle()
        : base(0, ownsHandle: true) => Interlocked.Increment(ref _live);

    /// <summary>Handles of this assembly constructed and not yet disposed, finalized or transferred.</summary>
    public static long LiveCount => Interlocked.Read(ref _live);

    /// <inheritdoc />
    public override bool IsInvalid => handle == 0;

    /// <summary>
    /// Records that a native call took ownership of this object (for example <c>SSL_set_bio</c>):
    /// from now on this handle neither frees it nor counts as live. Call it only after the call
    /// succeeded.
    /// </summary>
    public void TransferOwnership()
    {
        Uncount();
        SetHandleAsInvalid();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        Uncount();
        base.Dispose(disposing);
    }

    private void Uncount()
    {
        if (Interlocked.Exchange(ref _counted, 0) == 1)
        {
            Interlocked.Decrement(ref _live);
        }
    }
}
