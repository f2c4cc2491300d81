using System.Diagnostics;
using System.Net.Sockets;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.OpenSsl;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using Org.BouncyCastle.Utilities.Encoders;

namespace OpenSslDtls.PairBench;

/// <summary>
/// BouncyCastle's DTLS 1.2 (DtlsServerProtocol/DtlsClientProtocol, blocking) over its datagram
/// transport on the same sockets: the server on its own thread, the client on the caller's, as the
/// native program's two threads. The client trusts the one self-signed certificate by comparing it
/// (the handshake's signature is still verified by BouncyCastle).
/// </summary>
internal sealed class BouncyCastlePair : PairImpl
{
    private static readonly int[] Suites = [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256];
    private readonly BcTlsCrypto _crypto = new(new SecureRandom());
    private readonly byte[] _certificateDer;
    private readonly AsymmetricKeyParameter _key;
    private readonly bool _isRsa;
    private readonly bool _resume;
    private readonly Dictionary<string, TlsSession> _serverSessions = [];
    private readonly Barrier _barrier = new(2);
    private readonly Thread _serverThread;
    private TlsSession? _clientSession;
    private LoopbackPair? _sockets;
    private DtlsTransport? _client;
    private bool _stop;
    private int _serverMode; // 0 handshake only, 1 echo, 2 count
    private long _received;
    private long _last;
    private Exception? _serverFailure;

    public BouncyCastlePair(BenchSettings settings)
    {
        using (var reader = new StreamReader(settings.CertFile))
        {
            _certificateDer = ((Org.BouncyCastle.X509.X509Certificate)new PemReader(reader).ReadObject()).GetEncoded();
        }

        using (var reader = new StreamReader(settings.KeyFile))
        {
            object key = new PemReader(reader).ReadObject();
            _key = key as AsymmetricKeyParameter ?? ((AsymmetricCipherKeyPair)key).Private;
        }

        _isRsa = _key is Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters;
        _resume = settings.Resume;
        _serverThread = new Thread(ServerMain) { IsBackground = true, Name = "bc-server" };
        _serverThread.Start();
    }

    public override Task HandshakeOnceAsync(CancellationToken cancellationToken)
    {
        Connect(0);
        _client!.Close();
        _barrier.SignalAndWait(TimeSpan.FromSeconds(30), cancellationToken);
        _sockets!.Dispose();
        ThrowIfServerFailed();
        return Task.CompletedTask;
    }

    public override Task OpenAsync(bool echo, CancellationToken cancellationToken)
    {
        Connect(echo ? 1 : 2);
        return Task.CompletedTask;
    }

    private void Connect(int serverMode)
    {
        _sockets = new LoopbackPair();
        _serverMode = serverMode;
        _barrier.SignalAndWait(TimeSpan.FromSeconds(30));
        bool offered = _clientSession is not null;
        var client = new BenchClient(this);
        _client = new DtlsClientProtocol().Connect(client, new SocketTransport(_sockets.Client));
        if (_resume && offered && !client.Resumed)
        {
            throw new InvalidOperationException("the session was not resumed");
        }
    }

    public override ValueTask SendAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        _client!.Send(payload.Span);
        return ValueTask.CompletedTask;
    }

    public override ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_client!.Receive(buffer.Span, 10_000));

    public override ValueTask<int> ReceiveAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_client!.Receive(buffer.Span, (int)timeout.TotalMilliseconds)); // -1: nothing within the wait

    public override Task<(long Received, long LastTimestamp)> CloseAsync(CancellationToken cancellationToken)
    {
        Thread.Sleep(100); // lets the receiver drain what is queued, so that the end marks are not dropped with it
        byte[] end = new byte[EndMark];
        for (int i = 0; i < 5; i++)
        {
            _client!.Send(end, 0, end.Length);
        }

        _barrier.SignalAndWait(TimeSpan.FromSeconds(30), cancellationToken);
        _client!.Close();
        _sockets!.Dispose();
        ThrowIfServerFailed();
        return Task.FromResult((_received, _last));
    }

    public override ValueTask DisposeAsync()
    {
        _stop = true;
        _barrier.SignalAndWait(TimeSpan.FromSeconds(5));
        _serverThread.Join(TimeSpan.FromSeconds(5));
        _barrier.Dispose();
        return ValueTask.CompletedTask;
    }

    private void ThrowIfServerFailed()
    {
        if (_serverFailure is { } failure)
        {
            throw new InvalidOperationException("BouncyCastle server failed", failure);
        }
    }

    private void ServerMain()
    {
        byte[] buffer = new byte[16384];
        while (true)
        {
            _barrier.SignalAndWait();
            if (_stop)
            {
                return;
            }

            try
            {
                DtlsTransport server = new DtlsServerProtocol().Accept(new BenchServer(this), new SocketTransport(_sockets!.Server));
                var paced = new PacedReceiver();
                int n;
                while (_serverMode != 0 && (n = server.Receive(buffer, 0, buffer.Length, 10_000)) > EndMark)
                {
                    if (_serverMode == 1)
                    {
                        server.Send(buffer, 0, n);
                    }
                    else if (paced.OnDatagram(buffer.AsSpan(0, n)))
                    {
                        server.Send(paced.Ack, 0, paced.Ack.Length);
                    }
                }

                _received = paced.Counted;
                _last = paced.Last;

                server.Close();
            }
            catch (Exception e) when (e is TlsException or IOException or SocketException)
            {
                _serverFailure = e;
            }

            _barrier.SignalAndWait();
        }
    }

    private sealed class BenchServer(BouncyCastlePair owner) : DefaultTlsServer(owner._crypto)
    {
        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

        protected override int[] GetSupportedCipherSuites() => owner._isRsa ? [Suites[1]] : [Suites[0]];

        protected override TlsCredentialedSigner GetECDsaSignerCredentials() => Signer(SignatureAlgorithm.ecdsa);

        protected override TlsCredentialedSigner GetRsaSignerCredentials() => Signer(SignatureAlgorithm.rsa);

        public override byte[] GetNewSessionID() => owner._resume ? SecureRandom.GetNextBytes(new SecureRandom(), 32) : null!;

        public override TlsSession? GetSessionToResume(byte[] sessionID) =>
            owner._resume ? owner._serverSessions.GetValueOrDefault(Hex.ToHexString(sessionID)) : null;

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            if (owner._resume && m_context.ResumableSession is { } session)
            {
                owner._serverSessions[Hex.ToHexString(session.SessionID)] = session;
            }
        }

        private BcDefaultTlsCredentialedSigner Signer(short algorithm)
        {
            if (owner._isRsa != (algorithm == SignatureAlgorithm.rsa))
            {
                return null!; // BouncyCastle asks for both kinds; null: not this one
            }

            var chain = new Certificate([owner._crypto.CreateCertificate(owner._certificateDer)]);
            return new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(m_context), owner._crypto, owner._key, chain, new SignatureAndHashAlgorithm(HashAlgorithm.sha256, algorithm));
        }
    }

    private sealed class BenchClient(BouncyCastlePair owner) : DefaultTlsClient(owner._crypto)
    {
        public bool Resumed { get; private set; }

        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

        protected override int[] GetSupportedCipherSuites() => Suites;

        protected override IList<int> GetSupportedGroups(IList<int> namedGroupRoles) => [NamedGroup.x25519, NamedGroup.secp256r1];

        public override TlsSession? GetSessionToResume() => owner._resume ? owner._clientSession : null;

        public override TlsAuthentication GetAuthentication() => new Authentication(owner);

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            Resumed = m_context.SecurityParameters.IsResumedSession;
            if (owner._resume)
            {
                owner._clientSession = m_context.ResumableSession;
            }
        }
    }

    private sealed class Authentication(BouncyCastlePair owner) : TlsAuthentication
    {
        public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
        {
            if (!serverCertificate.Certificate.GetCertificateAt(0).GetEncoded().AsSpan().SequenceEqual(owner._certificateDer))
            {
                throw new TlsFatalAlert(AlertDescription.bad_certificate);
            }
        }

        public TlsCredentials? GetClientCredentials(CertificateRequest certificateRequest) => null;
    }

    /// <summary>BouncyCastle's DatagramTransport over a connected socket (waits with Poll, no timeout option per call).</summary>
    private sealed class SocketTransport(Socket socket) : DatagramTransport
    {
        public int GetReceiveLimit() => 1500 - 28;

        public int GetSendLimit() => 1500 - 28; // MTU 1500 in every implementation: a 1,200 B payload fits one record

        public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

        public int Receive(Span<byte> buffer, int waitMillis)
        {
            if (!socket.Poll(TimeSpan.FromMilliseconds(Math.Max(1, waitMillis)), SelectMode.SelectRead))
            {
                return -1; // BouncyCastle's "nothing within waitMillis"
            }

            try
            {
                return socket.Receive(buffer, SocketFlags.None);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                return -1; // an ICMP error from a closed peer port: nothing to read
            }
        }

        public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

        public void Send(ReadOnlySpan<byte> buffer)
        {
            try
            {
                socket.Send(buffer, SocketFlags.None);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                // The peer already closed its socket (close_notify after its end): the datagram is lost, as in UDP.
            }
        }

        public void Close()
        {
        }
    }
}
