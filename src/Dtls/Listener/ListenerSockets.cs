using System.Net;
using System.Net.Sockets;

namespace OpenSsl.Dtls;

/// <summary>Opens the listener's UDP sockets: dual mode for IPv6Any, ICMP resets off on Windows, SO_REUSEPORT for several loops on Linux.</summary>
internal static class ListenerSockets
{
    // <sys/socket.h> on Linux.
    private const int SOL_SOCKET = 1;
    private const int SO_REUSEPORT = 15;

    // _WSAIOW(IOC_VENDOR, 12): report ICMP port-unreachable as a WSAECONNRESET on the next receive, or not.
    private const int SIO_UDP_CONNRESET = -1744830452;

    // Room for bursts of handshakes and data between two turns of a receive loop; the OS may cap it (net.core.rmem_max).
    private const int ReceiveBufferBytes = 4 << 20;
    private const int SendBufferBytes = 1 << 20;

    /// <summary>
    /// One socket, or on Linux with <paramref name="loops"/> above 1, that many bound to the same
    /// address with <c>SO_REUSEPORT</c>: the kernel hashes each datagram's 4-tuple to one of them, so
    /// a peer always reaches the same socket (and the same loop), and the loops share no socket.
    /// </summary>
    /// <remarks>
    /// <c>SO_REUSEPORT</c> would also let a second process of the same user bind the same port and
    /// take a share of the peers (a restarted instance started before the old one stopped, a
    /// misconfigured port): Linux spreads datagrams over every socket of the group, whoever owns it.
    /// So before joining a group at a given port, a plain socket is bound there first: it fails with
    /// <see cref="SocketError.AddressAlreadyInUse"/> if anything holds the port, as a single socket would.
    /// </remarks>
    /// <exception cref="SocketException">The address cannot be bound, for example <see cref="SocketError.AddressAlreadyInUse"/>.</exception>
    public static Socket[] Open(IPEndPoint endpoint, int loops)
    {
        int count = loops > 1 && OperatingSystem.IsLinux() ? loops : 1;
        if (count > 1 && endpoint.Port != 0)
        {
            using Socket probe = NewSocket(endpoint, reusePort: false);
            probe.Bind(endpoint);
        }

        var sockets = new List<Socket>(count);
        try
        {
            IPEndPoint bindTo = endpoint;
            for (int i = 0; i < count; i++)
            {
                Socket socket = NewSocket(endpoint, reusePort: count > 1);
                sockets.Add(socket);
                TrySetBuffers(socket);
                socket.Bind(bindTo);
                if (i == 0)
                {
                    // Port 0 picked a port: the other sockets join that one.
                    bindTo = (IPEndPoint)socket.LocalEndPoint!;
                }
            }

            return [.. sockets];
        }
        catch
        {
            foreach (Socket socket in sockets)
            {
                socket.Dispose();
            }

            throw;
        }
    }

    private static Socket NewSocket(IPEndPoint endpoint, bool reusePort)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (endpoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            if (OperatingSystem.IsWindows())
            {
                // Otherwise an ICMP port-unreachable for a datagram sent to a vanished peer fails the
                // next ReceiveFrom with ConnectionReset, for every peer of the socket.
                socket.IOControl(SIO_UDP_CONNRESET, new byte[4], null);
            }

            if (reusePort)
            {
                socket.SetRawSocketOption(SOL_SOCKET, SO_REUSEPORT, BitConverter.GetBytes(1));
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static void TrySetBuffers(Socket socket)
    {
        try
        {
            socket.ReceiveBufferSize = Math.Max(socket.ReceiveBufferSize, ReceiveBufferBytes);
            socket.SendBufferSize = Math.Max(socket.SendBufferSize, SendBufferBytes);
        }
        catch (SocketException)
        {
            // The OS's defaults still work, with more drops under bursts.
        }
    }
}
