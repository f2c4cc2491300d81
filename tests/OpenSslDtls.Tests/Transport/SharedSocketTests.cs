using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Tests.Dtls;
using OpenSslDtls.Tests.Peers;
using OpenSslDtls.Tests.Support;

namespace OpenSslDtls.Tests.Transport;

/// <summary>
/// WebRTC's arrangement (RFC 7983 §7): our side has ONE UDP socket that carries STUN and DTLS, and an
/// application-written demultiplexer feeds the DTLS datagrams into our <see cref="DtlsDatagramTransport"/>
/// and answers the STUN binding requests. The DTLS peer is an implementation nobody here wrote
/// (<c>openssl s_server</c> / <c>s_client</c>, BouncyCastle); STUN requests come from a second socket,
/// one after another for as long as the handshake runs and between the echoes after it (bounded).
/// Every STUN request must be seen and answered by the demultiplexer, none may reach DTLS.
/// </summary>
[TestFixture]
public sealed class SharedSocketTests : DtlsFixture
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private const int MaxStunDuringHandshake = 2_000;

    private TempDirectory _temp = null!;
    private TestPemFiles _pem = null!;
    private TestCertificate _certificate = null!;

    [SetUp]
    public void WriteIdentity()
    {
        _temp = TempDirectory.Create(TestContext.CurrentContext.Test.MethodName ?? "shared-socket");
        _certificate = TestPki.CreateSelfSigned(KeyKind.EcdsaP256);
        _pem = _certificate.WritePem(_temp.Path, "server");
    }

    [TearDown]
    public void DeleteIdentity() => _temp.Dispose();

    [Test]
    [CancelAfter(60_000)]
    public async Task Our_client_on_a_shared_socket_completes_with_s_server_while_stun_is_answered_beside_it(CancellationToken cancellationToken)
    {
        int port = FreeUdpPort();
        using OpenSslCliProcess server = OpenSslCliProcess.Start(
            "s_server", "-dtls1_2", "-accept", port.ToString(CultureInfo.InvariantCulture), "-cert", _pem.CertificateFile, "-key", _pem.PrivateKeyFile);
        await server.WaitForOutputAsync(o => o.Contains("ACCEPT", StringComparison.Ordinal), Wait, "ACCEPT", cancellationToken);

        await using var demux = new Rfc7983Demultiplexer();
        using var stun = new StunPinger(demux.EndPoint);
        using var context = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true, HandshakeTimeout = Wait });
        await stun.PingAsync(cancellationToken); // STUN first, as ICE connectivity checks come before DTLS

        Task<DtlsSession> connect = DtlsClient.ConnectAsync(demux.Connect(new IPEndPoint(IPAddress.Loopback, port)), context, cancellationToken);
        int duringHandshake = await stun.PingUntilAsync(connect, MaxStunDuringHandshake, cancellationToken);
        await using DtlsSession client = await connect;

        var lines = new List<string>();
        byte[] buffer = new byte[4096];
        for (int i = 0; i < 5; i++)
        {
            string ours = $"line {i} from our client on the shared socket";
            await client.SendAsync(Encoding.ASCII.GetBytes(ours + "\n"), cancellationToken); // s_server prints what it receives
            await stun.PingAsync(cancellationToken);
            await server.WaitForOutputAsync(o => o.Split('\n').Any(l => l.TrimEnd() == ours), Wait, $"'{ours}'", cancellationToken);

            string theirs = $"line {i} from s_server";
            server.WriteLine(theirs); // s_server sends each stdin line as one record
            int n = await client.ReceiveAsync(buffer, cancellationToken);
            lines.Add(Encoding.ASCII.GetString(buffer, 0, n));
            await stun.PingAsync(cancellationToken);
        }

        TestContext.Out.WriteLine($"STUN requests: {stun.Answered} ({duringHandshake} during the handshake); DTLS datagrams demultiplexed: {demux.DtlsDatagrams}");
        Assert.Multiple(() =>
        {
            Assert.That(lines, Is.EqualTo(Enumerable.Range(0, 5).Select(i => $"line {i} from s_server\n")), server.Describe());
            Assert.That(client.RemoteCertificate?.RawData, Is.EqualTo(_certificate.RawData.ToArray()));
            Assert.That(client.RemoteEndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Loopback, port)));
            AssertDemultiplexed(demux, stun, client, duringHandshake);
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task S_client_reaches_our_server_on_a_shared_socket_while_stun_is_answered_beside_it(CancellationToken cancellationToken)
    {
        using var context = new DtlsContext(new DtlsServerOptions { CertificateChainFile = _pem.CertificateFile, PrivateKeyFile = _pem.PrivateKeyFile, HandshakeTimeout = Wait });
        var accepted = new TaskCompletionSource<(DtlsSession Session, Task Accept)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var demux = new Rfc7983Demultiplexer(transport =>
        {
            var session = new DtlsSession(context, transport);
            accepted.TrySetResult((session, session.AcceptAsync(cancellationToken).AsTask())); // started before the ClientHello is delivered
        });
        using var stun = new StunPinger(demux.EndPoint);
        await stun.PingAsync(cancellationToken);

        using OpenSslCliProcess client = OpenSslCliProcess.Start("s_client", "-dtls1_2", "-connect", $"127.0.0.1:{demux.EndPoint.Port}", "-ign_eof");
        Task handshake = WaitAcceptedAsync(accepted.Task);
        int duringHandshake = await stun.PingUntilAsync(handshake, MaxStunDuringHandshake, cancellationToken);
        await handshake;
        await using DtlsSession server = (await accepted.Task).Session;

        byte[] buffer = new byte[4096];
        for (int i = 0; i < 5; i++)
        {
            string line = $"line {i} from s_client";
            client.WriteLine(line);
            int n = await server.ReceiveAsync(buffer, cancellationToken);
            Assert.That(buffer.AsSpan(0, n).ToArray(), Is.EqualTo(Encoding.ASCII.GetBytes(line + "\n")), client.Describe());
            await stun.PingAsync(cancellationToken);
            await server.SendAsync(buffer.AsMemory(0, n), cancellationToken);
            await client.WaitForOutputAsync(o => o.Split('\n').Any(l => l.TrimEnd() == line), Wait, $"the echoed '{line}'", cancellationToken);
        }

        TestContext.Out.WriteLine($"STUN requests: {stun.Answered} ({duringHandshake} during the handshake); DTLS datagrams demultiplexed: {demux.DtlsDatagrams}");
        Assert.Multiple(() => AssertDemultiplexed(demux, stun, server, duringHandshake));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task BouncyCastle_client_gets_its_echo_from_our_server_on_a_shared_socket_while_stun_is_answered_beside_it(CancellationToken cancellationToken)
    {
        using var context = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned, HandshakeTimeout = Wait });
        var accepted = new TaskCompletionSource<(DtlsSession Session, Task Accept)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var demux = new Rfc7983Demultiplexer(transport =>
        {
            var session = new DtlsSession(context, transport);
            accepted.TrySetResult((session, session.AcceptAsync(cancellationToken).AsTask()));
        });
        using var stun = new StunPinger(demux.EndPoint);
        await stun.PingAsync(cancellationToken);

        byte[] payload = RandomNumberGenerator.GetBytes(700);
        Task<(byte[] Echo, byte[] ServerCertificate)> bouncyCastle = Task.Run(() => BouncyCastleDtlsClient.Echo(demux.EndPoint, payload, Wait), cancellationToken);
        Task handshake = WaitAcceptedAsync(accepted.Task);
        int duringHandshake = await stun.PingUntilAsync(handshake, MaxStunDuringHandshake, cancellationToken);
        await handshake;
        await using DtlsSession server = (await accepted.Task).Session;

        byte[] buffer = new byte[4096];
        int n = await server.ReceiveAsync(buffer, cancellationToken);
        await stun.PingAsync(cancellationToken);
        await server.SendAsync(buffer.AsMemory(0, n), cancellationToken);
        (byte[] echo, byte[] certificate) = await bouncyCastle.WaitAsync(Wait, cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(echo, Is.EqualTo(payload));
            Assert.That(certificate, Is.EqualTo(DtlsTestCertificates.EcdsaSelfSigned.RawData));
            AssertDemultiplexed(demux, stun, server, duringHandshake);
        });
    }

    private static async Task WaitAcceptedAsync(Task<(DtlsSession Session, Task Accept)> accepted) => await (await accepted).Accept;

    private static void AssertDemultiplexed(Rfc7983Demultiplexer demux, StunPinger stun, DtlsSession session, int duringHandshake)
    {
        Assert.That(demux.Failure, Is.Null, "the demultiplexer's receive loop");
        Assert.That(duringHandshake, Is.GreaterThan(0), "STUN requests ran while the handshake did");
        Assert.That(demux.StunRequests, Is.EqualTo(stun.Answered), "every STUN request was seen by the demultiplexer, and each was answered with the pinger's own address");
        Assert.That(demux.Other, Is.Zero, "no datagram was neither STUN nor DTLS");
        Assert.That(demux.DtlsDatagrams, Is.GreaterThan(0));
        Assert.That(session.RejectedDatagrams, Is.Zero, "no STUN datagram reached DTLS");
        Assert.That(session.IgnoredRecords, Is.Zero);
    }

    private static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>
    /// The ICE agent's side of a connectivity check: STUN binding requests (RFC 8489 §5) from a
    /// socket of its own to the shared socket, one at a time; each must come back as a binding success
    /// response with the same transaction ID and an XOR-MAPPED-ADDRESS naming this socket.
    /// </summary>
    private sealed class StunPinger : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly IPEndPoint _local;

        public StunPinger(IPEndPoint target)
        {
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _socket.Connect(target);
            _local = (IPEndPoint)_socket.LocalEndPoint!;
        }

        /// <summary>Requests sent and answered correctly.</summary>
        public int Answered { get; private set; }

        /// <summary>Pings one after another until <paramref name="until"/> completes (or <paramref name="max"/> pings); returns how many.</summary>
        public async Task<int> PingUntilAsync(Task until, int max, CancellationToken cancellationToken)
        {
            int count = 0;
            while (!until.IsCompleted && count < max)
            {
                await PingAsync(cancellationToken);
                count++;
            }

            return count;
        }

        public async Task PingAsync(CancellationToken cancellationToken)
        {
            byte[] request = new byte[20];
            BinaryPrimitives.WriteUInt16BigEndian(request, 0x0001); // binding request
            BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(4), Rfc7983Demultiplexer.MagicCookie);
            RandomNumberGenerator.Fill(request.AsSpan(8, 12)); // transaction ID
            await _socket.SendAsync(request, SocketFlags.None, cancellationToken);

            byte[] response = new byte[1500];
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bounded.CancelAfter(Wait);
            int n = await _socket.ReceiveAsync(response, SocketFlags.None, bounded.Token);
            Assert.That(n, Is.EqualTo(32), "a binding success response with one XOR-MAPPED-ADDRESS");
            Assert.That(BinaryPrimitives.ReadUInt16BigEndian(response), Is.EqualTo(0x0101));
            Assert.That(response.AsSpan(4, 16).ToArray(), Is.EqualTo(request.AsSpan(4, 16).ToArray()), "magic cookie and transaction ID");
            int port = BinaryPrimitives.ReadUInt16BigEndian(response.AsSpan(26)) ^ (int)(Rfc7983Demultiplexer.MagicCookie >> 16);
            uint address = BinaryPrimitives.ReadUInt32BigEndian(response.AsSpan(28)) ^ Rfc7983Demultiplexer.MagicCookie;
            byte[] addressBytes = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(addressBytes, address);
            Assert.That(new IPEndPoint(new IPAddress(addressBytes), port), Is.EqualTo(_local), "XOR-MAPPED-ADDRESS");
            Answered++;
        }

        public void Dispose() => _socket.Dispose();
    }
}
