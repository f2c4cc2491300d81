using System.Net;
using System.Net.Sockets;

namespace OpenSslDtls.PairBench;

/// <summary>Two UDP sockets on 127.0.0.1 connected to each other; the server side reuses its port.</summary>
internal sealed class LoopbackPair : IDisposable
{
    private static int s_serverPort;

    public LoopbackPair()
    {
        Server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        Server.Bind(new IPEndPoint(IPAddress.Loopback, s_serverPort));
        Client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        s_serverPort = ((IPEndPoint)Server.LocalEndPoint!).Port;
        Server.Connect(Client.LocalEndPoint!);
        Client.Connect(Server.LocalEndPoint!);
    }

    public Socket Server { get; }

    public Socket Client { get; }

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
    }
}
