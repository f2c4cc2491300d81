using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace OpenSsl.Dtls;

/// <summary>
/// Keeps a socket's descriptor open for the length of one OpenSSL call that may send or receive on
/// it (over <c>BIO_new_dgram</c>, OpenSSL holds the raw descriptor). Held only per call, never for
/// the session's life: a socket disposed too early then fails the next call with
/// <see cref="ObjectDisposedException"/> instead of making <see cref="Socket.Dispose()"/> wait
/// forever for the reference to go.
/// </summary>
internal ref struct SocketLease
{
    private readonly SafeHandle? _handle;
    private readonly bool _added;

    public SocketLease(Socket? socket)
    {
        if (socket is null)
        {
            return;
        }

        _handle = socket.SafeHandle;
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException e)
        {
            throw new ObjectDisposedException("The UDP socket was disposed before its DTLS session; dispose the session first.", e);
        }

        _added = added;
    }

    public readonly void Dispose()
    {
        if (_added)
        {
            _handle!.DangerousRelease();
        }
    }
}
