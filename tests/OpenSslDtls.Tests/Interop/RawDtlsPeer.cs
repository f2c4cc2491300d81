using System.Net;
using System.Net.Sockets;
using OpenSsl.Interop;

namespace OpenSslDtls.Tests.Interop;

/// <summary>
/// One end of a DTLS association written with the raw layer only, as the blog's steps 2 and 3 do it:
/// <c>BIO_new_dgram</c> over a connected UDP socket (<c>BIO_NOCLOSE</c>: .NET keeps owning the socket),
/// <c>BIO_ctrl_set_connected</c>, <c>SSL_new</c>, <c>SSL_set_bio</c>, then <c>SSL_accept</c>/<c>SSL_connect</c>.
/// The socket is non-blocking, so every OpenSSL call returns <c>SSL_ERROR_WANT_READ</c> instead of waiting;
/// <see cref="DtlsPump"/> calls <see cref="Step"/> and <see cref="DriveTimer"/> again when something can happen.
/// </summary>
internal sealed class RawDtlsPeer : IDisposable
{
    private readonly byte[] _readBuffer = new byte[16 * 1024 + 256];
    private readonly Queue<byte[]> _inbox = new();
    private bool _socketReferenced;

    /// <summary>Creates the SSL and its datagram BIO over <paramref name="socket"/>, which must be connected.</summary>
    /// <param name="name">"server" or "client", for messages.</param>
    /// <param name="context">The configured context (step 1).</param>
    /// <param name="socket">A connected, non-blocking UDP socket; it must outlive this peer.</param>
    /// <param name="isServer">Whether to <c>SSL_accept</c> (else <c>SSL_connect</c>).</param>
    /// <param name="linkMtu">
    /// The path MTU to use instead of asking the socket: loopback's is 65536, which would fit any record in
    /// one datagram; 1500 (Ethernet) makes the records and the handshake flights look like a real network's.
    /// </param>
    public RawDtlsPeer(string name, SafeSslContextHandle context, Socket socket, bool isServer, int linkMtu = 1500)
    {
        Name = name;
        Socket = socket;
        IsServer = isServer;
        bool success = false;
        try
        {
            ErrorQueue.Clear();
            Ssl = ErrorQueue.ThrowIfInvalid(LibSsl.SSL_new(context), "SSL_new");

            // BIO_new_dgram stores the descriptor; keep the socket's SafeHandle referenced so the fd cannot be
            // closed and reused while OpenSSL still uses it.
            socket.SafeHandle.DangerousAddRef(ref _socketReferenced);
            int fd = checked((int)socket.SafeHandle.DangerousGetHandle());
            using SafeBioHandle bio = ErrorQueue.ThrowIfInvalid(LibCrypto.BIO_new_dgram(fd, LibCrypto.BIO_NOCLOSE), "BIO_new_dgram");
            using (SafeBioAddrHandle peer = ToBioAddr((IPEndPoint)socket.RemoteEndPoint!))
            {
                ErrorQueue.ThrowIfNotOne(LibCrypto.BIO_ctrl_set_connected(bio, peer), "BIO_ctrl_set_connected");
            }

            LibSsl.SSL_set_bio(Ssl, bio, bio);
            bio.TransferOwnership(); // SSL_set_bio(s, b, b) took the one reference we held (ssl_set_bio(3)).

            LibSsl.SSL_set_options(Ssl, LibSsl.SSL_OP_NO_QUERY_MTU);
            ErrorQueue.ThrowIfNotOne(LibSsl.DTLS_set_link_mtu(Ssl, linkMtu), "DTLS_set_link_mtu");
            if (isServer)
            {
                LibSsl.SSL_set_accept_state(Ssl);
            }
            else
            {
                LibSsl.SSL_set_connect_state(Ssl);
            }

            success = true;
        }
        finally
        {
            if (!success)
            {
                Dispose();
            }
        }
    }

    /// <summary>"server" or "client".</summary>
    public string Name { get; }

    /// <summary>The connected UDP socket OpenSSL reads and writes through the BIO.</summary>
    public Socket Socket { get; }

    /// <summary>Whether this end accepts.</summary>
    public bool IsServer { get; }

    /// <summary>The <c>SSL*</c>.</summary>
    public SafeSslHandle Ssl { get; } = null!;

    /// <summary>Whether <c>SSL_accept</c>/<c>SSL_connect</c> returned 1.</summary>
    public bool HandshakeDone { get; private set; }

    /// <summary>Whether the peer's close_notify arrived (<c>SSL_ERROR_ZERO_RETURN</c>).</summary>
    public bool Closed { get; private set; }

    /// <summary>The first fatal failure, built from the error queue right after the failing call.</summary>
    public OpenSslException? Failure { get; private set; }

    /// <summary>How many times <c>DTLSv1_handle_timeout</c> returned 1 (retransmitted a flight).</summary>
    public int Retransmissions { get; private set; }

    /// <summary>Whether this end still waits for datagrams.</summary>
    public bool IsActive => Failure is null && !Closed;

    /// <summary>Records received since the handshake, oldest first; one record per item.</summary>
    public Queue<byte[]> Inbox => _inbox;

    /// <summary>Advances the handshake, then reads every record OpenSSL can deliver now into <see cref="Inbox"/>.</summary>
    public void Step()
    {
        if (!IsActive)
        {
            return;
        }

        if (!HandshakeDone)
        {
            ErrorQueue.Clear();
            int result = IsServer ? LibSsl.SSL_accept(Ssl) : LibSsl.SSL_connect(Ssl);
            if (result == 1)
            {
                HandshakeDone = true;
            }
            else
            {
                Check(result, IsServer ? "SSL_accept" : "SSL_connect");
                return;
            }
        }

        while (IsActive)
        {
            ErrorQueue.Clear();
            int result = LibSsl.SSL_read_ex(Ssl, _readBuffer, out nuint read);
            if (result != 1)
            {
                Check(result, "SSL_read_ex");
                return;
            }

            _inbox.Enqueue(_readBuffer.AsSpan(0, checked((int)read)).ToArray());
        }
    }

    /// <summary>Retransmits the last flight if its timer expired (<c>DTLSv1_get_timeout</c>, <c>DTLSv1_handle_timeout</c>).</summary>
    public void DriveTimer()
    {
        if (!IsActive || LibSsl.DTLSv1_get_timeout(Ssl, out TimeSpan remaining) != 1 || remaining > TimeSpan.Zero)
        {
            return;
        }

        ErrorQueue.Clear();
        int result = LibSsl.DTLSv1_handle_timeout(Ssl);
        if (result == 1)
        {
            Retransmissions++;
        }
        else if (result < 0)
        {
            Failure = ErrorQueue.ToException($"{Name}: DTLSv1_handle_timeout");
        }
    }

    /// <summary>The time until this end's retransmission timer fires, or null when none runs.</summary>
    public TimeSpan? NextTimeout => IsActive && LibSsl.DTLSv1_get_timeout(Ssl, out TimeSpan remaining) == 1 ? remaining : null;

    /// <summary>Sends <paramref name="data"/> as one record (one datagram); it must fit <c>DTLS_get_data_mtu</c>.</summary>
    public void Send(ReadOnlySpan<byte> data)
    {
        ErrorQueue.Clear();
        int result = LibSsl.SSL_write_ex(Ssl, data, out nuint written);
        if (result != 1 || (int)written != data.Length)
        {
            throw ErrorQueue.ToException($"{Name}: SSL_write_ex of {data.Length} bytes (returned {result}, SSL_get_error {LibSsl.SSL_get_error(Ssl, result)}, wrote {written})");
        }
    }

    /// <summary>Sends close_notify (<c>SSL_shutdown</c>; 0 means sent and the peer's not yet received).</summary>
    public int Shutdown()
    {
        ErrorQueue.Clear();
        int result = LibSsl.SSL_shutdown(Ssl);
        if (result < 0)
        {
            throw ErrorQueue.ToException($"{Name}: SSL_shutdown");
        }

        return result;
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Name}: handshake {(HandshakeDone ? "done" : "pending")}, {(Closed ? "closed, " : string.Empty)}{Retransmissions} retransmission(s), " +
        $"{_inbox.Count} record(s) queued{(Failure is null ? string.Empty : $", failed: {Failure.Message}")}";

    /// <summary>Frees the SSL (and with it the BIO; the socket stays open), then lets the socket go.</summary>
    public void Dispose()
    {
        Ssl?.Dispose();
        if (_socketReferenced)
        {
            _socketReferenced = false;
            Socket.SafeHandle.DangerousRelease();
        }
    }

    private void Check(int result, string operation)
    {
        int error = LibSsl.SSL_get_error(Ssl, result);
        switch (error)
        {
            case LibSsl.SSL_ERROR_WANT_READ or LibSsl.SSL_ERROR_WANT_WRITE:
                return; // a state that drives the pump, not a failure (docs/architecture.md, errors)
            case LibSsl.SSL_ERROR_ZERO_RETURN:
                Closed = true;
                return;
            default:
                Failure = ErrorQueue.ToException($"{Name}: {operation} (SSL_get_error {error})");
                return;
        }
    }

    private static unsafe SafeBioAddrHandle ToBioAddr(IPEndPoint endPoint)
    {
        SafeBioAddrHandle address = ErrorQueue.ThrowIfInvalid(LibCrypto.BIO_ADDR_new(), "BIO_ADDR_new");
        byte[] raw = endPoint.Address.GetAddressBytes();
        int family = endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? LibCrypto.AF_INET6 : LibCrypto.AF_INET;
        fixed (byte* p = raw)
        {
            if (LibCrypto.BIO_ADDR_rawmake(address, family, p, (nuint)raw.Length, (ushort)IPAddress.HostToNetworkOrder((short)endPoint.Port)) != 1)
            {
                address.Dispose();
                throw ErrorQueue.ToException("BIO_ADDR_rawmake");
            }
        }

        return address;
    }
}
