using System.Runtime.InteropServices;

namespace OpenSsl.Interop;

/// <summary>libcrypto: BIOs, the datagram BIO and its ctrl macros, <c>BIO_ADDR</c>.</summary>
public static unsafe partial class LibCrypto
{
    /// <summary><c>BIO_NOCLOSE</c>: freeing the BIO leaves the socket open (.NET owns it).</summary>
    public const int BIO_NOCLOSE = 0x00;

    /// <summary><c>BIO_CTRL_RESET</c></summary>
    public const int BIO_CTRL_RESET = 1;
    /// <summary><c>BIO_CTRL_EOF</c></summary>
    public const int BIO_CTRL_EOF = 2;
    /// <summary><c>BIO_CTRL_INFO</c></summary>
    public const int BIO_CTRL_INFO = 3;
    /// <summary><c>BIO_CTRL_PUSH</c></summary>
    public const int BIO_CTRL_PUSH = 6;
    /// <summary><c>BIO_CTRL_POP</c></summary>
    public const int BIO_CTRL_POP = 7;
    /// <summary><c>BIO_CTRL_GET_CLOSE</c></summary>
    public const int BIO_CTRL_GET_CLOSE = 8;
    /// <summary><c>BIO_CTRL_SET_CLOSE</c></summary>
    public const int BIO_CTRL_SET_CLOSE = 9;
    /// <summary><c>BIO_CTRL_PENDING</c></summary>
    public const int BIO_CTRL_PENDING = 10;
    /// <summary><c>BIO_CTRL_FLUSH</c></summary>
    public const int BIO_CTRL_FLUSH = 11;
    /// <summary><c>BIO_CTRL_DUP</c></summary>
    public const int BIO_CTRL_DUP = 12;
    /// <summary><c>BIO_CTRL_WPENDING</c></summary>
    public const int BIO_CTRL_WPENDING = 13;
    /// <summary><c>BIO_CTRL_DGRAM_CONNECT</c></summary>
    public const int BIO_CTRL_DGRAM_CONNECT = 31;
    /// <summary><c>BIO_CTRL_DGRAM_SET_CONNECTED</c></summary>
    public const int BIO_CTRL_DGRAM_SET_CONNECTED = 32;
    /// <summary><c>BIO_CTRL_DGRAM_SET_RECV_TIMEOUT</c></summary>
    public const int BIO_CTRL_DGRAM_SET_RECV_TIMEOUT = 33;
    /// <summary><c>BIO_CTRL_DGRAM_GET_RECV_TIMEOUT</c></summary>
    public const int BIO_CTRL_DGRAM_GET_RECV_TIMEOUT = 34;
    /// <summary><c>BIO_CTRL_DGRAM_GET_RECV_TIMER_EXP</c></summary>
    public const int BIO_CTRL_DGRAM_GET_RECV_TIMER_EXP = 37;
    /// <summary><c>BIO_CTRL_DGRAM_GET_SEND_TIMER_EXP</c></summary>
    public const int BIO_CTRL_DGRAM_GET_SEND_TIMER_EXP = 38;
    /// <summary><c>BIO_CTRL_DGRAM_MTU_DISCOVER</c></summary>
    public const int BIO_CTRL_DGRAM_MTU_DISCOVER = 39;
    /// <summary><c>BIO_CTRL_DGRAM_QUERY_MTU</c></summary>
    public const int BIO_CTRL_DGRAM_QUERY_MTU = 40;
    /// <summary><c>BIO_CTRL_DGRAM_GET_MTU</c></summary>
    public const int BIO_CTRL_DGRAM_GET_MTU = 41;
    /// <summary><c>BIO_CTRL_DGRAM_SET_MTU</c></summary>
    public const int BIO_CTRL_DGRAM_SET_MTU = 42;
    /// <summary><c>BIO_CTRL_DGRAM_MTU_EXCEEDED</c></summary>
    public const int BIO_CTRL_DGRAM_MTU_EXCEEDED = 43;
    /// <summary><c>BIO_CTRL_DGRAM_SET_PEER</c></summary>
    public const int BIO_CTRL_DGRAM_SET_PEER = 44;
    /// <summary><c>BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT</c></summary>
    public const int BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT = 45;
    /// <summary><c>BIO_CTRL_DGRAM_GET_PEER</c></summary>
    public const int BIO_CTRL_DGRAM_GET_PEER = 46;
    /// <summary><c>BIO_CTRL_DGRAM_GET_FALLBACK_MTU</c></summary>
    public const int BIO_CTRL_DGRAM_GET_FALLBACK_MTU = 47;
    /// <summary><c>BIO_CTRL_DGRAM_SET_DONT_FRAG</c></summary>
    public const int BIO_CTRL_DGRAM_SET_DONT_FRAG = 48;
    /// <summary><c>BIO_CTRL_DGRAM_GET_MTU_OVERHEAD</c></summary>
    public const int BIO_CTRL_DGRAM_GET_MTU_OVERHEAD = 49;

    /// <summary><c>BIO_FLAGS_READ</c></summary>
    public const int BIO_FLAGS_READ = 0x01;
    /// <summary><c>BIO_FLAGS_WRITE</c></summary>
    public const int BIO_FLAGS_WRITE = 0x02;
    /// <summary><c>BIO_FLAGS_IO_SPECIAL</c></summary>
    public const int BIO_FLAGS_IO_SPECIAL = 0x04;
    /// <summary><c>BIO_FLAGS_RWS</c></summary>
    public const int BIO_FLAGS_RWS = BIO_FLAGS_READ | BIO_FLAGS_WRITE | BIO_FLAGS_IO_SPECIAL;
    /// <summary><c>BIO_FLAGS_SHOULD_RETRY</c></summary>
    public const int BIO_FLAGS_SHOULD_RETRY = 0x08;

    /// <summary><c>BIO_TYPE_SOURCE_SINK</c></summary>
    public const int BIO_TYPE_SOURCE_SINK = 0x0400;
    /// <summary><c>BIO_TYPE_DESCRIPTOR</c></summary>
    public const int BIO_TYPE_DESCRIPTOR = 0x0100;

    /// <summary><c>BIO *BIO_new_dgram(int fd, int close_flag)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial SafeBioHandle BIO_new_dgram(int fd, int closeFlag);

    /// <summary><c>BIO *BIO_new(const BIO_METHOD *type)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial SafeBioHandle BIO_new(SafeBioMethodHandle method);

    /// <summary><c>BIO *BIO_new_mem_buf(const void *buf, int len)</c>; the BIO reads <paramref name="buffer"/> in place, so keep it pinned while the BIO lives.</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial SafeBioHandle BIO_new_mem_buf(byte* buffer, int length);

    /// <summary><c>int BIO_free(BIO *a)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int BIO_free(nint bio);

    /// <summary><c>int BIO_up_ref(BIO *a)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int BIO_up_ref(SafeBioHandle bio);

    /// <summary><c>long BIO_ctrl(BIO *bp, int cmd, long larg, void *parg)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial nint BIO_ctrl(SafeBioHandle bio, int cmd, nint larg, nint parg);

    /// <summary><c>long BIO_ctrl(BIO *bp, int cmd, long larg, void *parg)</c> on a borrowed pointer (inside callbacks, or a BIO an <c>SSL</c> owns).</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial nint BIO_ctrl(nint bio, int cmd, nint larg, nint parg);

    /// <summary><c>BIO_ctrl_dgram_connect(b, peer)</c> = <c>BIO_ctrl(b, BIO_CTRL_DGRAM_CONNECT, 0, peer)</c></summary>
    public static int BIO_ctrl_dgram_connect(SafeBioHandle bio, SafeBioAddrHandle peer) =>
        (int)BIO_ctrl(bio, BIO_CTRL_DGRAM_CONNECT, 0, peer.DangerousGetHandle());

    /// <summary><c>BIO_ctrl_set_connected(b, peer)</c> = <c>BIO_ctrl(b, BIO_CTRL_DGRAM_SET_CONNECTED, 0, peer)</c>; with a null peer the BIO is unconnected.</summary>
    public static int BIO_ctrl_set_connected(SafeBioHandle bio, SafeBioAddrHandle? peer) =>
        (int)BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_CONNECTED, 0, peer?.DangerousGetHandle() ?? 0);

    /// <summary><c>BIO_dgram_get_peer(b, peer)</c> = <c>BIO_ctrl(b, BIO_CTRL_DGRAM_GET_PEER, 0, peer)</c></summary>
    public static int BIO_dgram_get_peer(SafeBioHandle bio, SafeBioAddrHandle peer) =>
        (int)BIO_ctrl(bio, BIO_CTRL_DGRAM_GET_PEER, 0, peer.DangerousGetHandle());

    /// <summary><c>BIO_dgram_set_peer(b, peer)</c> = <c>BIO_ctrl(b, BIO_CTRL_DGRAM_SET_PEER, 0, peer)</c></summary>
    public static int BIO_dgram_set_peer(SafeBioHandle bio, SafeBioAddrHandle peer) =>
        (int)BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_PEER, 0, peer.DangerousGetHandle());

    /// <summary><c>BIO_dgram_recv_timedout(b)</c> = <c>BIO_ctrl(b, BIO_CTRL_DGRAM_GET_RECV_TIMER_EXP, 0, NULL)</c></summary>
    public static int BIO_dgram_recv_timedout(SafeBioHandle bio) =>
        (int)BIO_ctrl(bio, BIO_CTRL_DGRAM_GET_RECV_TIMER_EXP, 0, 0);

    /// <summary>
    /// <c>BIO_ctrl(b, BIO_CTRL_DGRAM_SET_RECV_TIMEOUT, 0, &amp;timeval)</c>: the socket's receive
    /// timeout (SO_RCVTIMEO). OpenSSL's own example uses it for blocking DTLS reads.
    /// </summary>
    public static int BIO_dgram_set_recv_timeout(SafeBioHandle bio, TimeSpan timeout)
    {
        TimeVal tv = TimeVal.From(timeout);
        return (int)BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_RECV_TIMEOUT, 0, (nint)(&tv));
    }

    /// <summary><c>BIO_dgram_query_mtu(b)</c> = <c>BIO_ctrl(b, BIO_CTRL_DGRAM_QUERY_MTU, 0, NULL)</c></summary>
    public static int BIO_dgram_query_mtu(SafeBioHandle bio) => (int)BIO_ctrl(bio, BIO_CTRL_DGRAM_QUERY_MTU, 0, 0);

    /// <summary><c>BIO_pending(b)</c> = <c>BIO_ctrl(b, BIO_CTRL_PENDING, 0, NULL)</c></summary>
    public static int BIO_pending(SafeBioHandle bio) => (int)BIO_ctrl(bio, BIO_CTRL_PENDING, 0, 0);

    /// <summary><c>int BIO_read(BIO *b, void *data, int dlen)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int BIO_read(SafeBioHandle bio, byte* data, int length);

    /// <summary><c>int BIO_write(BIO *b, const void *data, int dlen)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int BIO_write(SafeBioHandle bio, byte* data, int length);

    /// <summary><c>void BIO_set_data(BIO *a, void *ptr)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial void BIO_set_data(nint bio, nint data);

    /// <summary><c>void *BIO_get_data(BIO *a)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial nint BIO_get_data(nint bio);

    /// <summary><c>void BIO_set_init(BIO *a, int init)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial void BIO_set_init(nint bio, int init);

    /// <summary><c>void BIO_set_flags(BIO *b, int flags)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial void BIO_set_flags(nint bio, int flags);

    /// <summary><c>void BIO_clear_flags(BIO *b, int flags)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial void BIO_clear_flags(nint bio, int flags);

    /// <summary><c>BIO_set_retry_read(b)</c> = <c>BIO_set_flags(b, BIO_FLAGS_READ | BIO_FLAGS_SHOULD_RETRY)</c></summary>
    public static void BIO_set_retry_read(nint bio) => BIO_set_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_SHOULD_RETRY);

    /// <summary><c>BIO_clear_retry_flags(b)</c> = <c>BIO_clear_flags(b, BIO_FLAGS_RWS | BIO_FLAGS_SHOULD_RETRY)</c></summary>
    public static void BIO_clear_retry_flags(nint bio) => BIO_clear_flags(bio, BIO_FLAGS_RWS | BIO_FLAGS_SHOULD_RETRY);

    /// <summary><c>int BIO_get_new_index(void)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int BIO_get_new_index();

    /// <summary><c>BIO_METHOD *BIO_meth_new(int type, const char *name)</c></summary>
    [LibraryImport(Libraries.Crypto, StringMarshalling = StringMarshalling.Utf8)]
    public static partial SafeBioMethodHandle BIO_meth_new(int type, string name);

    /// <summary><c>void BIO_meth_free(BIO_METHOD *biom)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial void BIO_meth_free(nint method);

    /// <summary><c>int BIO_meth_set_write_ex(BIO_METHOD *biom, int (*bwrite)(BIO *, const char *, size_t, size_t *))</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int BIO_meth_set_write_ex(SafeBioMethodHandle method, delegate* unmanaged<nint, byte*, nuint, nuint*, int> write);

    /// <summary><c>int BIO_meth_set_read_ex(BIO_METHOD *biom, int (*bread)(BIO *, char *, size_t, size_t *))</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int BIO_meth_set_read_ex(SafeBioMethodHandle method, delegate* unmanaged<nint, byte*, nuint, nuint*, int> read);

    /// <summary><c>int BIO_meth_set_ctrl(BIO_METHOD *biom, long (*ctrl)(BIO *, int, long, void *))</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int BIO_meth_set_ctrl(SafeBioMethodHandle method, delegate* unmanaged<nint, int, nint, nint, nint> ctrl);

    /// <summary><c>int BIO_meth_set_create(BIO_METHOD *biom, int (*create)(BIO *))</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int BIO_meth_set_create(SafeBioMethodHandle method, delegate* unmanaged<nint, int> create);

    /// <summary><c>int BIO_meth_set_destroy(BIO_METHOD *biom, int (*destroy)(BIO *))</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int BIO_meth_set_destroy(SafeBioMethodHandle method, delegate* unmanaged<nint, int> destroy);

    /// <summary><c>BIO_ADDR *BIO_ADDR_new(void)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial SafeBioAddrHandle BIO_ADDR_new();

    /// <summary><c>void BIO_ADDR_free(BIO_ADDR *ap)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial void BIO_ADDR_free(nint addr);

    /// <summary><c>int BIO_ADDR_rawmake(BIO_ADDR *ap, int family, const void *where, size_t wherelen, unsigned short port)</c>; the port is in network byte order.</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int BIO_ADDR_rawmake(SafeBioAddrHandle addr, int family, byte* where, nuint whereLength, ushort portNetworkOrder);

    /// <summary><c>BIO_ADDR_rawmake</c> on a borrowed <c>BIO_ADDR*</c> (one OpenSSL passed to a BIO ctrl).</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int BIO_ADDR_rawmake(nint addr, int family, byte* where, nuint whereLength, ushort portNetworkOrder);

    /// <summary><c>int BIO_ADDR_family(const BIO_ADDR *ap)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int BIO_ADDR_family(SafeBioAddrHandle addr);

    /// <summary><c>int BIO_ADDR_rawaddress(const BIO_ADDR *ap, void *p, size_t *l)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int BIO_ADDR_rawaddress(SafeBioAddrHandle addr, byte* buffer, ref nuint length);

    /// <summary><c>unsigned short BIO_ADDR_rawport(const BIO_ADDR *ap)</c>; network byte order.</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial ushort BIO_ADDR_rawport(SafeBioAddrHandle addr);

    /// <summary><c>AF_INET</c></summary>
    public const int AF_INET = 2;

    /// <summary><c>AF_INET6</c> on the running OS (10 on Linux, 30 on macOS, 23 on Windows).</summary>
    public static int AF_INET6 => OperatingSystem.IsWindows() ? 23 : OperatingSystem.IsMacOS() ? 30 : 10;
}
