using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests.Coap;

/// <summary>Starts samples/CoapServer and the peers; every program is bounded in time and killed by its PID in teardown.</summary>
public abstract class CoapTestBase : PeerProcessTestBase
{
    /// <summary>Runs a program to its end (bounded) and returns it, output captured.</summary>
    protected async Task<PeerProcess> RunAsync(string fileName, params string[] arguments)
    {
        PeerProcess process = Start(fileName, arguments);
        await process.WaitForExitAsync(ExchangeTimeout);
        return process;
    }

    /// <summary>Starts samples/CoapServer on a free port and waits for its <c>listening on</c> line; returns the process and port.</summary>
    protected async Task<(PeerProcess Server, int Port)> StartCoapServerAsync(params string[] arguments)
    {
        string dll = Path.Combine(TestContext.CurrentContext.TestDirectory, "CoapServer.dll");
        PeerProcess server = Start("dotnet", [dll, "--port", "0", .. arguments]);
        string line = await server.WaitForOutputLineAsync("listening on ", StartupTimeout);
        return (server, int.Parse(line[(line.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture));
    }

    /// <summary>The negotiated suites CoapServer logged ("session opened ... cipher X ..."), in order.</summary>
    protected static string[] LoggedCiphers(PeerProcess server) =>
        [.. server.StandardError.Split('\n')
            .Where(l => l.StartsWith("session opened ", StringComparison.Ordinal))
            .Select(l => l.Split(' ')[5])];

    /// <summary>
    /// Waits (bounded) until CoapServer has logged <paramref name="sessions"/> sessions and returns their suites:
    /// the server writes each line before it answers, but its stderr reaches us asynchronously.
    /// </summary>
    protected static async Task<string[]> WaitForSessionsAsync(PeerProcess server, int sessions)
    {
        await server.WaitUntilAsync(p => LoggedCiphers(p).Length >= sessions, ExchangeTimeout, $"{sessions} 'session opened' lines on stderr");
        return LoggedCiphers(server);
    }

    /// <summary>A port P such that UDP P and P+1 are free now (libcoap's coap-server takes P for CoAP, P+1 for DTLS).</summary>
    protected static int FreePortPair()
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            using var first = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            first.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)first.LocalEndPoint!).Port;
            if (port < IPEndPoint.MaxPort && IsFree(port + 1, SocketType.Dgram, ProtocolType.Udp)
                && IsFree(port, SocketType.Stream, ProtocolType.Tcp) && IsFree(port + 1, SocketType.Stream, ProtocolType.Tcp))
            {
                return port;
            }
        }

        throw new AssertionException("no free pair of adjacent ports in 100 attempts");
    }

    /// <summary>Whether nobody has bound UDP/TCP <paramref name="port"/> on loopback (a bind succeeds).</summary>
    protected static bool IsFree(int port, SocketType type, ProtocolType protocol)
    {
        try
        {
            using var probe = new Socket(AddressFamily.InterNetwork, type, protocol);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    protected static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The hex the samples' --psk takes for an ASCII key (libcoap's -k and node-dtls-client take the raw string).</summary>
    protected static string Hex(string asciiKey) => Convert.ToHexString(System.Text.Encoding.ASCII.GetBytes(asciiKey));
}
