using System.Net;
using System.Net.Sockets;

namespace OpenSslDtls.Tests.Interop;

/// <summary>Non-blocking UDP sockets on 127.0.0.1, connected to each other the way the blog's server connects one socket per client.</summary>
internal static class LoopbackUdp
{
    /// <summary>A non-blocking UDP socket bound to 127.0.0.1 on a port the OS picks.</summary>
    public static Socket Bind()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            socket.Blocking = false;
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary><c>connect()</c>s each socket to the other's address.</summary>
    public static void Connect(Socket a, Socket b)
    {
        a.Connect(b.LocalEndPoint!);
        b.Connect(a.LocalEndPoint!);
    }

    /// <summary>Two bound sockets connected to each other.</summary>
    public static (Socket A, Socket B) ConnectedPair()
    {
        Socket a = Bind();
        Socket? b = null;
        try
        {
            b = Bind();
            Connect(a, b);
            return (a, b);
        }
        catch
        {
            a.Dispose();
            b?.Dispose();
            throw;
        }
    }
}
