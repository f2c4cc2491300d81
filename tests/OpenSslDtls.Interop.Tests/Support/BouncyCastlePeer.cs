using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using CertificateRequest = Org.BouncyCastle.Tls.CertificateRequest;
using System.Text;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace OpenSslDtls.Interop.Tests.Support;

/// <summary>What a BouncyCastle peer is told to do (null/empty: BouncyCastle's defaults).</summary>
internal sealed record BcSettings
{
    /// <summary>IANA suite names (BouncyCastle's <see cref="CipherSuite"/> constants).</summary>
    public IReadOnlyList<string> CipherSuites { get; init; } = [];

    public bool Psk { get; init; }

    /// <summary>This peer's certificate (server: its certificate; client: offered when the server asks).</summary>
    public Credential? Certificate { get; init; }

    /// <summary>Server: ask for a client certificate and refuse one that does not chain to the interop root.</summary>
    public bool RequireClientCertificate { get; init; }

    public IReadOnlyList<string> ApplicationProtocols { get; init; } = [];

    /// <summary>RFC 5764 profile names (as OpenSSL spells them).</summary>
    public IReadOnlyList<string> SrtpProfiles { get; init; } = [];

    /// <summary>Client: the SNI host name to send.</summary>
    public string? ServerName { get; init; }

    /// <summary>Client: a session to resume (from an earlier <see cref="BcResult.Session"/>).</summary>
    public TlsSession? Resume { get; init; }

    public bool Dtls10Only { get; init; }

    public byte[] Payload { get; init; } = Encoding.UTF8.GetBytes("bouncycastle");
}

/// <summary>What the BouncyCastle peer saw.</summary>
internal sealed class BcResult
{
    public byte[]? Echo { get; set; }

    public string? CipherSuite { get; set; }

    public string? ApplicationProtocol { get; set; }

    public string? SrtpProfile { get; set; }

    /// <summary>RFC 5705 "EXTRACTOR-dtls_srtp" with no context, the profile's length.</summary>
    public byte[]? SrtpKeys { get; set; }

    public byte[]? PeerCertificate { get; set; }

    public string? ServerNameSeen { get; set; }

    public bool Resumed { get; set; }

    public TlsSession? Session { get; set; }
}

/// <summary>
/// BouncyCastle's DTLS 1.2, as client and as server, over a connected .NET UDP socket: a managed
/// implementation that shares no code with OpenSSL. Blocking calls, run on a thread-pool thread by the tests.
/// </summary>
internal static class BouncyCastlePeer
{
    private static readonly Dictionary<string, int> SrtpIds = new(StringComparer.Ordinal)
    {
        ["SRTP_AES128_CM_SHA1_80"] = SrtpProtectionProfile.SRTP_AES128_CM_HMAC_SHA1_80,
        ["SRTP_AES128_CM_SHA1_32"] = SrtpProtectionProfile.SRTP_AES128_CM_HMAC_SHA1_32,
        ["SRTP_AEAD_AES_128_GCM"] = SrtpProtectionProfile.SRTP_AEAD_AES_128_GCM,
        ["SRTP_AEAD_AES_256_GCM"] = SrtpProtectionProfile.SRTP_AEAD_AES_256_GCM,
    };

    /// <summary>BouncyCastle's default is no handshake timeout: every test bounds it.</summary>
    private const int HandshakeTimeoutMillis = 20_000;

    /// <summary>Sessions the BouncyCastle server can resume, by session ID (hex).</summary>
    private static readonly ConcurrentDictionary<string, TlsSession> ServerSessions = new();

    /// <summary>Connects, sends <see cref="BcSettings.Payload"/>, reads one datagram back, closes with close_notify.</summary>
    public static BcResult Connect(IPEndPoint server, BcSettings settings, TimeSpan timeout)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(server);
        var result = new BcResult();
        var crypto = new BcTlsCrypto(new SecureRandom());
        TlsClient client = settings.Psk ? new PskClient(crypto, settings, result) : new CertificateClient(crypto, settings, result);
        DtlsTransport transport = new DtlsClientProtocol().Connect(client, new UdpTransport(socket, (int)timeout.TotalMilliseconds));
        try
        {
            transport.Send(settings.Payload, 0, settings.Payload.Length);
            byte[] buffer = new byte[transport.GetReceiveLimit()];
            int n = transport.Receive(buffer, 0, buffer.Length, (int)timeout.TotalMilliseconds);
            result.Echo = n >= 0 ? buffer.AsSpan(0, n).ToArray() : null;
        }
        finally
        {
            transport.Close();
        }

        return result;
    }

    /// <summary>
    /// Binds a socket on <paramref name="address"/> (port in the returned tuple), then on a thread accepts one client
    /// (connecting the socket to it) and echoes until close_notify or <paramref name="timeout"/>.
    /// </summary>
    public static (int Port, Task<BcResult> Served) Serve(IPAddress address, BcSettings settings, TimeSpan timeout, int port = 0)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(address, port));
        port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        Task<BcResult> served = Task.Factory.StartNew(() =>
        {
            using Socket owned = socket;
            var buffer = new byte[65536];
            EndPoint from = new IPEndPoint(address.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
            owned.ReceiveTimeout = (int)timeout.TotalMilliseconds;
            owned.ReceiveFrom(buffer, SocketFlags.Peek, ref from);
            owned.Connect(from);
            var result = new BcResult();
            var crypto = new BcTlsCrypto(new SecureRandom());
            TlsServer server = settings.Psk ? new PskServer(crypto, settings, result) : new CertificateServer(crypto, settings, result);
            var udp = new UdpTransport(owned, (int)timeout.TotalMilliseconds);
            DtlsTransport transport = new DtlsServerProtocol().Accept(server, udp);
            udp.AlertSeen = false;
            try
            {
                byte[] data = new byte[transport.GetReceiveLimit()];
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (clock.Elapsed < timeout)
                {
                    // BouncyCastle's Receive waits its whole waitMillis even after close_notify: poll in short
                    // steps and stop at the first quiet step after the client sent an alert record.
                    int n = transport.Receive(data, 0, data.Length, 100);
                    if (n < 0)
                    {
                        if (udp.AlertSeen)
                        {
                            break;
                        }

                        continue;
                    }

                    result.Echo ??= data.AsSpan(0, n).ToArray();
                    transport.Send(data, 0, n);
                }
            }
            catch (TlsFatalAlertReceived)
            {
            }
            catch (TlsTimeoutException)
            {
            }
            finally
            {
                transport.Close();
            }

            return result;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return (port, served);
    }

    /// <summary>The suite numbers of IANA names, e.g. TLS_PSK_WITH_AES_128_CCM_8.</summary>
    private static int[] Suites(IReadOnlyList<string> names) =>
        names.Select(n => (int)(typeof(CipherSuite).GetField(n)?.GetValue(null) ?? throw new ArgumentException($"BouncyCastle has no suite {n}"))).ToArray();

    private static string SuiteName(int suite) =>
        typeof(CipherSuite).GetFields().FirstOrDefault(f => f.FieldType == typeof(int) && (int)f.GetValue(null)! == suite && f.Name.StartsWith("TLS_", StringComparison.Ordinal))?.Name ?? suite.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static BcDefaultTlsCredentialedSigner Signer(TlsContext context, BcTlsCrypto crypto, Credential credential)
    {
        AsymmetricKeyParameter key = PrivateKeyFactory.CreateKey(credential.Pkcs8Key);
        var chain = new Certificate(credential.ChainDer.Select(der => (TlsCertificate)crypto.CreateCertificate(der)).ToArray());
        var algorithm = new SignatureAndHashAlgorithm(HashAlgorithm.sha256, credential.IsRsa ? SignatureAlgorithm.rsa : SignatureAlgorithm.ecdsa);
        return new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), crypto, key, chain, algorithm);
    }

    /// <summary>A chain that leads to the interop root (checked with .NET's X509Chain), else the alert BouncyCastle sends.</summary>
    private static void CheckChain(Certificate presented)
    {
        using X509Certificate2 leaf = X509CertificateLoader.LoadCertificate(presented.GetCertificateAt(0).GetEncoded());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.ImportFromPemFile(InteropPki.Shared.CaFile);
        for (int i = 1; i < presented.Length; i++)
        {
            chain.ChainPolicy.ExtraStore.Add(X509CertificateLoader.LoadCertificate(presented.GetCertificateAt(i).GetEncoded()));
        }

        if (!chain.Build(leaf))
        {
            throw new TlsFatalAlert(AlertDescription.unknown_ca);
        }
    }

    private static void Complete(TlsContext context, BcSettings settings, BcResult result)
    {
        SecurityParameters parameters = context.SecurityParameters;
        result.CipherSuite = SuiteName(parameters.CipherSuite);
        result.ApplicationProtocol = parameters.ApplicationProtocol?.GetUtf8Decoding();
        result.Resumed = parameters.IsResumedSession;
        result.Session = context.ResumableSession;
        if (result.SrtpProfile is { } profile)
        {
            result.SrtpKeys = context.ExportKeyingMaterial(KeyingMaterial.SrtpLabel, null, KeyingMaterial.SrtpLength(profile));
        }

        if (parameters.ClientServerNames is { Count: > 0 } names)
        {
            result.ServerNameSeen = Encoding.ASCII.GetString(names[0].NameData);
        }
    }

    private static List<ProtocolName>? Protocols(BcSettings settings) =>
        settings.ApplicationProtocols.Count == 0 ? null : settings.ApplicationProtocols.Select(ProtocolName.AsUtf8Encoding).ToList();

    private static ProtocolVersion[] Versions(BcSettings settings) => settings.Dtls10Only ? ProtocolVersion.DTLSv10.Only() : ProtocolVersion.DTLSv12.Only();

    private static void OfferSrtp(IDictionary<int, byte[]> extensions, BcSettings settings)
    {
        if (settings.SrtpProfiles.Count > 0)
        {
            TlsSrtpUtilities.AddUseSrtpExtension(extensions, new UseSrtpData(settings.SrtpProfiles.Select(p => SrtpIds[p]).ToArray(), TlsUtilities.EmptyBytes));
        }
    }

    private static string? SrtpName(int id) => SrtpIds.FirstOrDefault(kv => kv.Value == id).Key;

    private sealed class CertificateClient(TlsCrypto crypto, BcSettings settings, BcResult result) : DefaultTlsClient(crypto)
    {
        protected override ProtocolVersion[] GetSupportedVersions() => Versions(settings);

        public override int GetHandshakeTimeoutMillis() => HandshakeTimeoutMillis;

        protected override int[] GetSupportedCipherSuites() => settings.CipherSuites.Count > 0 ? Suites(settings.CipherSuites) : base.GetSupportedCipherSuites();

        protected override IList<ProtocolName>? GetProtocolNames() => Protocols(settings);

        protected override IList<ServerName>? GetSniServerNames() =>
            settings.ServerName is null ? null : [new ServerName(NameType.host_name, Encoding.ASCII.GetBytes(settings.ServerName))];

        public override TlsSession? GetSessionToResume() => settings.Resume;

        public override IDictionary<int, byte[]> GetClientExtensions()
        {
            IDictionary<int, byte[]> extensions = base.GetClientExtensions() ?? new Dictionary<int, byte[]>();
            OfferSrtp(extensions, settings);
            return extensions;
        }

        public override void ProcessServerExtensions(IDictionary<int, byte[]> serverExtensions)
        {
            base.ProcessServerExtensions(serverExtensions);
            if (serverExtensions is not null && TlsSrtpUtilities.GetUseSrtpExtension(serverExtensions) is { } srtp)
            {
                result.SrtpProfile = SrtpName(srtp.ProtectionProfiles[0]);
            }
        }

        public override TlsAuthentication GetAuthentication() => new Authentication(this);

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            Complete(m_context, settings, result);
        }

        private sealed class Authentication(CertificateClient owner) : TlsAuthentication
        {
            public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
            {
                owner.Result.PeerCertificate = serverCertificate.Certificate.GetCertificateAt(0).GetEncoded();
                CheckChain(serverCertificate.Certificate);
            }

            public TlsCredentials? GetClientCredentials(CertificateRequest certificateRequest) =>
                owner.Settings.Certificate is { } credential ? Signer(owner.Context, (BcTlsCrypto)owner.Crypto, credential) : null;
        }

        private BcResult Result => result;

        private BcSettings Settings => settings;

        private TlsContext Context => m_context;
    }

    private sealed class PskClient(TlsCrypto crypto, BcSettings settings, BcResult result)
        : PskTlsClient(crypto, new BasicTlsPskIdentity(global::OpenSslDtls.Interop.Tests.Support.Suites.PskIdentity, global::OpenSslDtls.Interop.Tests.Support.Suites.PskKey))
    {
        protected override ProtocolVersion[] GetSupportedVersions() => Versions(settings);

        public override int GetHandshakeTimeoutMillis() => HandshakeTimeoutMillis;

        protected override int[] GetSupportedCipherSuites() => settings.CipherSuites.Count > 0 ? Suites(settings.CipherSuites) : base.GetSupportedCipherSuites();

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            Complete(m_context, settings, result);
        }
    }

    private sealed class CertificateServer(TlsCrypto crypto, BcSettings settings, BcResult result) : DefaultTlsServer(crypto)
    {
        private int _srtpProfile = -1;

        protected override ProtocolVersion[] GetSupportedVersions() => Versions(settings);

        public override int GetHandshakeTimeoutMillis() => HandshakeTimeoutMillis;

        protected override int[] GetSupportedCipherSuites() => settings.CipherSuites.Count > 0 ? Suites(settings.CipherSuites) : base.GetSupportedCipherSuites();

        protected override IList<ProtocolName>? GetProtocolNames() => Protocols(settings);

        protected override TlsCredentialedSigner GetECDsaSignerCredentials() => Signer(m_context, (BcTlsCrypto)Crypto, settings.Certificate ?? InteropPki.Shared.EcdsaServer);

        protected override TlsCredentialedSigner GetRsaSignerCredentials() => Signer(m_context, (BcTlsCrypto)Crypto, settings.Certificate ?? InteropPki.Shared.RsaServer);

        public override byte[] GetNewSessionID() => Org.BouncyCastle.Security.SecureRandom.GetNextBytes(new SecureRandom(), 32);

        public override TlsSession? GetSessionToResume(byte[] sessionID) => ServerSessions.GetValueOrDefault(Convert.ToHexString(sessionID));

        public override CertificateRequest? GetCertificateRequest() => settings.RequireClientCertificate
            ? new CertificateRequest([ClientCertificateType.ecdsa_sign, ClientCertificateType.rsa_sign], TlsUtilities.GetDefaultSupportedSignatureAlgorithms(m_context), null)
            : null;

        public override void NotifyClientCertificate(Certificate clientCertificate)
        {
            if (clientCertificate is null || clientCertificate.IsEmpty)
            {
                throw new TlsFatalAlert(AlertDescription.handshake_failure);
            }

            result.PeerCertificate = clientCertificate.GetCertificateAt(0).GetEncoded();
            CheckChain(clientCertificate);
        }

        public override void ProcessClientExtensions(IDictionary<int, byte[]> clientExtensions)
        {
            base.ProcessClientExtensions(clientExtensions);
            if (settings.SrtpProfiles.Count > 0 && clientExtensions is not null && TlsSrtpUtilities.GetUseSrtpExtension(clientExtensions) is { } offered)
            {
                // The server's preference order wins among the client's offers (RFC 5764 section 4.1.1).
                _srtpProfile = settings.SrtpProfiles.Select(p => SrtpIds[p]).FirstOrDefault(id => offered.ProtectionProfiles.Contains(id), -1);
            }
        }

        public override IDictionary<int, byte[]> GetServerExtensions()
        {
            IDictionary<int, byte[]> extensions = base.GetServerExtensions() ?? new Dictionary<int, byte[]>();
            if (_srtpProfile >= 0)
            {
                TlsSrtpUtilities.AddUseSrtpExtension(extensions, new UseSrtpData([_srtpProfile], TlsUtilities.EmptyBytes));
                result.SrtpProfile = SrtpName(_srtpProfile);
            }

            return extensions;
        }

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            Complete(m_context, settings, result);
            if (m_context.ResumableSession is { } session)
            {
                ServerSessions[Convert.ToHexString(session.SessionID)] = session;
            }
        }
    }

    private sealed class PskServer(TlsCrypto crypto, BcSettings settings, BcResult result) : PskTlsServer(crypto, new PskIdentities())
    {
        protected override ProtocolVersion[] GetSupportedVersions() => Versions(settings);

        public override int GetHandshakeTimeoutMillis() => HandshakeTimeoutMillis;

        protected override int[] GetSupportedCipherSuites() => settings.CipherSuites.Count > 0 ? Suites(settings.CipherSuites) : base.GetSupportedCipherSuites();

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            Complete(m_context, settings, result);
        }

        private sealed class PskIdentities : TlsPskIdentityManager
        {
            public byte[] GetHint() => Encoding.UTF8.GetBytes("bc-hint");

            public byte[]? GetPsk(byte[] identity) =>
                Encoding.UTF8.GetString(identity) == global::OpenSslDtls.Interop.Tests.Support.Suites.PskIdentity ? global::OpenSslDtls.Interop.Tests.Support.Suites.PskKey : null;
        }
    }

    /// <summary>BouncyCastle's datagram transport over a connected .NET socket.</summary>
    private sealed class UdpTransport(Socket socket, int receiveTimeoutMs) : DatagramTransport
    {
        /// <summary>A received datagram started with an alert record (content type 21), e.g. close_notify after the handshake.</summary>
        public bool AlertSeen { get; set; }

        public int GetReceiveLimit() => 65507;

        public int GetSendLimit() => 1500 - 48;

        public int Receive(byte[] buf, int off, int len, int waitMillis)
        {
            socket.ReceiveTimeout = Math.Max(1, Math.Min(waitMillis, receiveTimeoutMs));
            try
            {
                int n = socket.Receive(buf, off, len, SocketFlags.None);
                AlertSeen |= n > 0 && buf[off] == 21;
                return n;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                return -1; // BouncyCastle's "nothing within waitMillis"
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset)
            {
                return -1; // an ICMP error about an earlier send: the datagram is simply lost
            }
        }

        public int Receive(Span<byte> buffer, int waitMillis)
        {
            byte[] temporary = new byte[buffer.Length];
            int n = Receive(temporary, 0, temporary.Length, waitMillis);
            if (n > 0)
            {
                temporary.AsSpan(0, n).CopyTo(buffer);
            }

            return n;
        }

        public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

        public void Send(ReadOnlySpan<byte> buffer)
        {
            try
            {
                socket.Send(buffer, SocketFlags.None);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset)
            {
                // The peer's socket is gone (an ICMP error): DTLS treats it as loss.
            }
        }

        public void Close()
        {
        }
    }
}
