using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using NUnit.Framework;
using OpenSsl.Interop;

namespace OpenSslDtls.Tests.Interop;

/// <summary>
/// Native objects are freed once, when their owner is disposed, and <see cref="OpenSslHandle.LiveCount"/> tells
/// when one is not (docs/architecture.md, ownership). The count is process-wide, so nothing else may create handles meanwhile.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class HandleLifetimeTests
{
    // 10,000 contexts, each with one session (SSL + datagram BIO), as the issue asks. SSL_CTX_new is the
    // slow part in OpenSSL 3 (each new context fetches its algorithms from the providers): about 1 s on an
    // idle 2-core machine, up to 16 s on a very busy one.
    private const int Contexts = 10_000;
    private const int SessionsPerContext = 1;
    private static int _destroyed;

    [SetUp]
    public void LetEarlierTestsHandlesBeFinalized()
    {
        // A handle some earlier test forgot would otherwise be finalized in the middle of a count.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Test]
    public void Creating_and_disposing_ten_thousand_contexts_and_sessions_leaves_LiveCount_where_it_started()
    {
        using Socket socket = LoopbackUdp.Bind();
        int fd = checked((int)socket.SafeHandle.DangerousGetHandle()); // BIO_NOCLOSE and never used for I/O here
        long before = OpenSslHandle.LiveCount;
        var clock = Stopwatch.StartNew();

        for (int c = 0; c < Contexts; c++)
        {
            using SafeSslContextHandle context = ErrorQueue.ThrowIfInvalid(LibSsl.SSL_CTX_new(LibSsl.DTLS_method()), "SSL_CTX_new");
            for (int s = 0; s < SessionsPerContext; s++)
            {
                using SafeSslHandle ssl = ErrorQueue.ThrowIfInvalid(LibSsl.SSL_new(context), "SSL_new");
                using SafeBioHandle bio = ErrorQueue.ThrowIfInvalid(LibCrypto.BIO_new_dgram(fd, LibCrypto.BIO_NOCLOSE), "BIO_new_dgram");
                LibSsl.SSL_set_bio(ssl, bio, bio);
                bio.TransferOwnership();
                if (c == 0 && s == 0)
                {
                    Assert.That(OpenSslHandle.LiveCount, Is.EqualTo(before + 2), "context and SSL live, the BIO owned by the SSL");
                }
            }
        }

        clock.Stop();
        TestContext.Out.WriteLine(
            $"{Contexts} SSL_CTX_new, {Contexts * SessionsPerContext} x (SSL_new + BIO_new_dgram + SSL_set_bio), all freed: {clock.ElapsedMilliseconds} ms");
        Assert.That(OpenSslHandle.LiveCount, Is.EqualTo(before));
    }

    [Test]
    public unsafe void A_handle_is_released_exactly_once_and_TransferOwnership_stops_it_owning_and_counting()
    {
        // A BIO type of our own whose destroy callback counts how often OpenSSL really frees one.
        using SafeBioMethodHandle method = ErrorQueue.ThrowIfInvalid(
            LibCrypto.BIO_meth_new(LibCrypto.BIO_get_new_index() | LibCrypto.BIO_TYPE_SOURCE_SINK, "openssldtls counting test BIO"),
            "BIO_meth_new");
        Assert.That(LibCrypto.BIO_meth_set_destroy(method, &CountDestroy), Is.EqualTo(1));
        using SafeSslContextHandle context = ErrorQueue.ThrowIfInvalid(LibSsl.SSL_CTX_new(LibSsl.DTLS_method()), "SSL_CTX_new");
        long live = OpenSslHandle.LiveCount;
        int destroyed = Volatile.Read(ref _destroyed);

        // Disposing twice frees once and uncounts once.
        SafeBioHandle alone = ErrorQueue.ThrowIfInvalid(LibCrypto.BIO_new(method), "BIO_new");
        Assert.That(OpenSslHandle.LiveCount, Is.EqualTo(live + 1));
        alone.Dispose();
        alone.Dispose();
        Assert.Multiple(() =>
        {
            Assert.That(alone.IsClosed, Is.True);
            Assert.That(Volatile.Read(ref _destroyed), Is.EqualTo(destroyed + 1), "BIO_free ran once");
            Assert.That(OpenSslHandle.LiveCount, Is.EqualTo(live));
        });

        // After SSL_set_bio the SSL owns the BIO: the handle lets go and stops counting, SSL_free frees it once.
        SafeSslHandle ssl = ErrorQueue.ThrowIfInvalid(LibSsl.SSL_new(context), "SSL_new");
        SafeBioHandle given = ErrorQueue.ThrowIfInvalid(LibCrypto.BIO_new(method), "BIO_new");
        Assert.That(OpenSslHandle.LiveCount, Is.EqualTo(live + 2));
        LibSsl.SSL_set_bio(ssl, given, given);
        given.TransferOwnership();
        Assert.Multiple(() =>
        {
            Assert.That(given.IsClosed, Is.True, "the transferred handle is no longer usable");
            Assert.That(OpenSslHandle.LiveCount, Is.EqualTo(live + 1), "only the SSL counts");
        });

        given.Dispose();
        given.TransferOwnership();
        Assert.Multiple(() =>
        {
            Assert.That(Volatile.Read(ref _destroyed), Is.EqualTo(destroyed + 1), "disposing a transferred handle frees nothing");
            Assert.That(OpenSslHandle.LiveCount, Is.EqualTo(live + 1), "nor uncounts twice");
        });

        ssl.Dispose();
        ssl.Dispose();
        Assert.Multiple(() =>
        {
            Assert.That(Volatile.Read(ref _destroyed), Is.EqualTo(destroyed + 2), "SSL_free freed the BIO it owned, once");
            Assert.That(OpenSslHandle.LiveCount, Is.EqualTo(live));
        });
    }

    /// <summary>The BIO method's <c>int (*destroy)(BIO *)</c>.</summary>
    [UnmanagedCallersOnly]
    private static int CountDestroy(nint bio)
    {
        Interlocked.Increment(ref _destroyed);
        return 1;
    }
}
