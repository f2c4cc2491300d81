using System.Runtime.InteropServices;
using OpenSsl.Interop;
using static OpenSsl.Interop.LibCrypto;

namespace OpenSsl.Dtls;

/// <summary>
/// Our datagram BIO (docs/architecture.md): what OpenSSL writes becomes datagrams of whole records
/// within the MTU (<see cref="DatagramPacker"/>), each one call to the session's <see cref="DtlsDatagramTransport.Send"/>; each read takes the one datagram the session is processing. It
/// answers the datagram ctrls, since a BIO that ignores them makes OpenSSL fall back to tiny MTUs
/// (rust-openssl issue 1155). A memory BIO would not do: it loses datagram boundaries.
/// </summary>
internal static unsafe class DatagramBio
{
    private static readonly Lazy<SafeBioMethodHandle> Method = new(CreateMethod);

    /// <summary>A new BIO whose callbacks reach the <see cref="DtlsSession"/> that <paramref name="session"/> holds.</summary>
    public static SafeBioHandle Create(GCHandle session)
    {
        ErrorQueue.Clear();
        SafeBioHandle bio = ErrorQueue.ThrowIfInvalid(BIO_new(Method.Value), "BIO_new(datagram BIO)");
        BIO_set_data(bio.DangerousGetHandle(), GCHandle.ToIntPtr(session));
        BIO_set_init(bio.DangerousGetHandle(), 1);
        return bio;
    }

    private static SafeBioMethodHandle CreateMethod()
    {
        ErrorQueue.Clear();
        int type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK;
        SafeBioMethodHandle method = ErrorQueue.ThrowIfInvalid(BIO_meth_new(type, "OpenSslDtls datagram"), "BIO_meth_new");
        ErrorQueue.ThrowIfNotOne(BIO_meth_set_write_ex(method, &Write), "BIO_meth_set_write_ex");
        ErrorQueue.ThrowIfNotOne(BIO_meth_set_read_ex(method, &Read), "BIO_meth_set_read_ex");
        ErrorQueue.ThrowIfNotOne(BIO_meth_set_ctrl(method, &Ctrl), "BIO_meth_set_ctrl");
        // The method lives for the process: every BIO made from it must be able to reach it.
        return method;
    }

    private static DtlsSession? SessionOf(nint bio)
    {
        nint data = BIO_get_data(bio);
        return data == 0 ? null : GCHandle.FromIntPtr(data).Target as DtlsSession;
    }

    [UnmanagedCallersOnly]
    private static int Write(nint bio, byte* data, nuint length, nuint* written)
    {
        DtlsSession? session = null;
        try
        {
            BIO_clear_retry_flags(bio);
            session = SessionOf(bio);
            if (session is null)
            {
                return 0;
            }

            session.SendRecords(new ReadOnlySpan<byte>(data, checked((int)length)));
            *written = length;
            return 1;
        }
        catch (Exception e)
        {
            session?.StoreCallbackException(e);
            return 0;
        }
    }

    [UnmanagedCallersOnly]
    private static int Read(nint bio, byte* buffer, nuint capacity, nuint* read)
    {
        DtlsSession? session = null;
        try
        {
            BIO_clear_retry_flags(bio);
            session = SessionOf(bio);
            int n = session?.TakeInbound(new Span<byte>(buffer, (int)Math.Min(capacity, int.MaxValue))) ?? -1;
            if (n < 0)
            {
                // Nothing to read: "try again later", which SSL_get_error reports as WANT_READ.
                BIO_set_retry_read(bio);
                return 0;
            }

            *read = (nuint)n;
            return 1;
        }
        catch (Exception e)
        {
            session?.StoreCallbackException(e);
            return 0;
        }
    }

    [UnmanagedCallersOnly]
    private static nint Ctrl(nint bio, int command, nint larg, nint parg)
    {
        try
        {
            DtlsSession? session = SessionOf(bio);
            int overhead = session?.HeaderOverhead ?? 28;
            int mtu = session?.Context.Settings.Mtu ?? 1200;
            return command switch
            {
                // OpenSSL flushes after each flight; our writes are already sent, but for a record cut in two.
                BIO_CTRL_FLUSH => Flush(session),
                BIO_CTRL_PENDING => session?.InboundPending ?? 0,
                BIO_CTRL_WPENDING => 0,
                BIO_CTRL_DGRAM_QUERY_MTU or BIO_CTRL_DGRAM_GET_FALLBACK_MTU or BIO_CTRL_DGRAM_GET_MTU => mtu - overhead,
                BIO_CTRL_DGRAM_SET_MTU => larg,
                BIO_CTRL_DGRAM_GET_MTU_OVERHEAD => overhead,
                BIO_CTRL_DGRAM_MTU_EXCEEDED => 0,
                BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT => 1, // we read the timer with DTLSv1_get_timeout instead
                BIO_CTRL_DGRAM_SET_CONNECTED or BIO_CTRL_DGRAM_CONNECT or BIO_CTRL_DGRAM_SET_PEER => 1,
                BIO_CTRL_DGRAM_GET_PEER => session?.RemoteEndPoint is System.Net.IPEndPoint peer && parg != 0 ? WritePeer(parg, peer) : 0,
                BIO_CTRL_DGRAM_GET_RECV_TIMER_EXP or BIO_CTRL_DGRAM_GET_SEND_TIMER_EXP => 0,
                _ => 0,
            };
        }
        catch (Exception)
        {
            return 0; // A ctrl that fails answers "unsupported"; nothing may cross into OpenSSL.
        }
    }

    private static nint Flush(DtlsSession? session)
    {
        session?.FlushRecords();
        return 1;
    }

    /// <summary>Answers <c>BIO_dgram_get_peer</c>: the session's peer into OpenSSL's <c>BIO_ADDR</c>.</summary>
    private static int WritePeer(nint bioAddr, System.Net.IPEndPoint peer)
    {
        Span<byte> raw = stackalloc byte[16];
        peer.Address.TryWriteBytes(raw, out int length);
        fixed (byte* p = raw)
        {
            return BIO_ADDR_rawmake(bioAddr, SocketAddressing.Family(peer), p, (nuint)length, SocketAddressing.NetworkPort(peer));
        }
    }
}
