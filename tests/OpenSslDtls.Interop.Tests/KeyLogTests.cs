using System.Net;
using System.Text;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Interop.Tests.Support;

namespace OpenSslDtls.Interop.Tests;

/// <summary>
/// Key log: tshark (Wireshark's dissector, written by nobody here) captures a session on <c>lo</c> and
/// decrypts its application data with the NSS key-log lines our side wrote (and cannot without them).
/// </summary>
[Category("Slow")]
public sealed class KeyLogTests : InteropTest
{
    private const string Peer = "tshark";

    [Test]
    public async Task Tshark_decrypts_our_clients_session_with_s_server()
    {
        Row(Peer, OursToPeer + " (openssl s_server)", "key log decrypts a captured session");
        int port = FreeUdpPort();
        PeerProcess server = Start(Peers.OpenSsl(), "s_server", "-dtls1_2", "-accept", $"127.0.0.1:{Text(port)}", "-naccept", "1",
            "-cert", Pki.EcdsaServer.ChainFile, "-key", Pki.EcdsaServer.KeyFile);
        await server.WaitForOutputLineAsync("ACCEPT", Bound); // s_server holds the port before the capture starts
        string capture = await StartCaptureAsync(port, out PeerProcess tshark);
        var lines = new List<string>();
        DtlsClientOptions baseline = OurOptions.Client();
        var options = new DtlsClientOptions { CaFile = baseline.CaFile, TargetHost = baseline.TargetHost, KeyLog = line => { lock (lines) { lines.Add(line); } } };
        string payload = Payload("keylog-client");
        await using (DtlsSession session = await ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), options))
        {
            await session.SendAsync(Encoding.UTF8.GetBytes(payload + "\n"), Token);
            await server.WaitUntilAsync(p => p.StandardOutput.Contains(payload, StringComparison.Ordinal), Bound, "s_server got our datagram");
            await session.ShutdownAsync(Token);
        }

        await AssertDecryptsAsync(tshark, capture, port, lines, payload);
    }

    [Test]
    public async Task Tshark_decrypts_our_servers_session_with_s_client()
    {
        Row(Peer, PeerToOurs + " (openssl s_client)", "key log decrypts a captured session");
        var lines = new List<string>();
        DtlsServerOptions baseline = OurOptions.Server();
        EchoListener listener = StartEchoListener(new DtlsServerOptions
        {
            CertificateChainFile = baseline.CertificateChainFile,
            PrivateKeyFile = baseline.PrivateKeyFile,
            KeyLog = line => { lock (lines) { lines.Add(line); } },
        });
        int port = listener.EndPoint.Port;
        string capture = await StartCaptureAsync(port, out PeerProcess tshark);
        PeerProcess client = Start(Peers.OpenSsl(), "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{Text(port)}", "-CAfile", Pki.CaFile, "-verify_return_error");
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("Cipher is", StringComparison.Ordinal), Bound, "s_client finished its handshake");
        string payload = Payload("keylog-server");
        client.Write(payload + "\n");
        await client.WaitUntilAsync(p => p.StandardOutput.Contains(payload, StringComparison.Ordinal), Bound, "our echo reached s_client");
        client.CloseInput();
        await client.WaitForExitAsync(Bound);
        await AssertDecryptsAsync(tshark, capture, port, lines, payload);
    }

    /// <summary>
    /// Starts tshark on lo for the session's UDP port and a probe port of our own (bounded by -a duration), and
    /// waits until it has captured a probe datagram: "Capture started" comes before the filter sees packets.
    /// </summary>
    private Task<string> StartCaptureAsync(int port, out PeerProcess tshark)
    {
        string capture = Path.Combine(Repository.Scratch, $"capture-{Guid.NewGuid():N}.pcapng");
        var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int probePort = ((IPEndPoint)probe.LocalEndPoint!).Port;
        // -P -l: a summary line per packet, flushed at once, even while writing the file.
        tshark = Start(Peers.Tshark(), "-i", "lo", "-f", $"udp port {Text(port)} or udp port {Text(probePort)}", "-d", $"udp.port=={Text(port)},dtls", "-w", capture, "-P", "-l", "-a", "duration:40");
        return WaitCapturingAsync(tshark, capture, probe);
    }

    private static async Task<string> WaitCapturingAsync(PeerProcess tshark, string capture, System.Net.Sockets.Socket probe)
    {
        using System.Net.Sockets.Socket owned = probe;
        await tshark.WaitUntilAsync(p => p.StandardError.Contains("Capture started", StringComparison.Ordinal), Bound, "tshark capturing on lo");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (tshark.StandardOutput.Length == 0)
        {
            Assert.That(clock.Elapsed, Is.LessThan(Bound), "tshark printed no probe packet.\n" + tshark.Report());
            owned.SendTo("capture-probe"u8.ToArray(), owned.LocalEndPoint!);
            await Task.Delay(50); // polling a condition, as PeerProcess does: the bound is the assertion above
        }

        return capture;
    }

    private async Task AssertDecryptsAsync(PeerProcess capture, string file, int port, List<string> keyLines, string payload)
    {
        // libpcap hands packets over in blocks (up to a timeout): wait until tshark has seen the session's
        // closing alert (close_notify) before stopping it, or the last packets never reach the file.
        await capture.WaitUntilAsync(p => p.StandardOutput.Contains("Alert", StringComparison.Ordinal), Bound, "tshark saw the closing alert");
        await capture.SignalAsync("INT"); // tshark writes and closes the file on SIGINT
        await capture.WaitForExitAsync(Bound);
        string keyLog = Path.Combine(Repository.Scratch, $"keys-{Guid.NewGuid():N}.log");
        lock (keyLines)
        {
            Assert.That(keyLines, Is.Not.Empty, "our side wrote key-log lines");
            File.WriteAllLines(keyLog, keyLines);
        }

        string expected = Convert.ToHexString(Encoding.UTF8.GetBytes(payload)).ToLowerInvariant();
        string withKeys = await DecodeAsync(file, port, keyLog);
        string withoutKeys = await DecodeAsync(file, port, null);
        Assert.That(withKeys, Does.Contain(expected), "tshark decrypted our application data with our key log");
        Assert.That(withoutKeys, Does.Not.Contain(expected), "and cannot without it (the capture holds no plaintext)");
        Note($"{keyLines.Count} key-log line(s); tshark -r capture -o tls.keylog_file:KEYS -d udp.port==$PORT,dtls -T fields -e data.data");
    }

    private async Task<string> DecodeAsync(string capture, int port, string? keyLog)
    {
        string[] keys = keyLog is null ? [] : ["-o", $"tls.keylog_file:{keyLog}"];
        PeerProcess read = Start(Peers.Tshark(), ["-r", capture, .. keys, "-d", $"udp.port=={Text(port)},dtls", "-T", "fields", "-e", "dtls.record.content_type", "-e", "data.data"]);
        Assert.That(await read.WaitForExitAsync(Bound), Is.Zero, read.Report());
        return read.StandardOutput;
    }
}
