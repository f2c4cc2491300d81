using System.Net;
using System.Net.Sockets;
using OpenSsl.Interop;

namespace OpenSsl.Dtls;

/// <summary>IP endpoints as OpenSSL's <c>BIO_ADDR</c>.</summary>
internal static unsafe class SocketAddressing
{
    public static SafeBioAddrHandle ToBioAddr(IPEndPoint endpoint)
    {
        ErrorQueue.Clear();
        SafeBioAddrHandle addr = ErrorQueue.ThrowIfInvalid(LibCrypto.BIO_ADDR_new(), "BIO_ADDR_new");
        Span<byte> raw = stackalloc byte[16];
        endpoint.Address.TryWriteBytes(raw, out int length);
        fixed (byte* p = raw)
        {
            ErrorQueue.ThrowIfNotOne(LibCrypto.BIO_ADDR_rawmake(addr, Family(endpoint), p, (nuint)length, NetworkPort(endpoint)), "BIO_ADDR_rawmake");
        }

        return addr;
    }

    /// <summary>IP and UDP header bytes in front of each datagram: 48 over IPv6, 28 over IPv4.</summary>
    public static int HeaderOverhead(AddressFamily? family) => family == AddressFamily.InterNetworkV6 ? 48 : 28;

    public static int Family(IPEndPoint endpoint) =>
        endpoint.AddressFamily == AddressFamily.InterNetworkV6 ? LibCrypto.AF_INET6 : LibCrypto.AF_INET;

    public static ushort NetworkPort(IPEndPoint endpoint) => (ushort)IPAddress.HostToNetworkOrder((short)endpoint.Port);
}
