using System.Buffers;
using System.Security.Cryptography;

namespace OpenSsl.Dtls;

/// <summary>
/// The asynchronous PSK key lookup (<see cref="DtlsServerOptions.PskKeyLookupAsync"/>). OpenSSL's
/// <c>psk_server_callback</c> is synchronous, so the lookup runs before OpenSSL sees the
/// ClientKeyExchange: <see cref="ProcessDatagram"/> reads the identity from the message's epoch-0
/// fragments (<see cref="PskIdentityAssembler"/>), starts the lookup on the thread pool and holds the
/// datagram that completed the identity, and every later one from this peer, until the lookup
/// completes; then it feeds them to OpenSSL in order, and the callback takes the finished result.
/// The receive loop never waits, so a slow key store delays only the handshake that asked for it.
/// See docs/architecture.md (the listener's per-datagram work).
/// </summary>
public sealed partial class DtlsSession
{
    // What a held peer may make this session keep: its flight retransmitted a few times over. Beyond
    // it datagrams are dropped; the client retransmits its flight after the lookup completes.
    private const int MaxHeldDatagrams = 32;
    private const int MaxHeldBytes = 32 * 1024;

    // Made on first use: only a server with PskKeyLookupAsync needs it, and an idle session should
    // not carry a lock it never takes (docs/benchmarks.md's idle memory).
    private Lock? _pskGate;

    private Lock PskGate => LazyInitializer.EnsureInitialized(ref _pskGate);
    private volatile PskLookupPhase _pskPhase;
    private PskIdentityAssembler? _pskAssembler;
    private Queue<(byte[] Buffer, int Length)>? _pskHeld;
    private int _pskHeldBytes;
    private CancellationTokenSource? _pskCancel;
    private PskLookupBudget? _pskBudget;
    private int _pskPlaceHeld; // 1 while this handshake holds a place of _pskBudget (docs/architecture.md)
    private Task? _pskLookup;
    private PskLookupResult? _pskResult;

    private enum PskLookupPhase
    {
        /// <summary>No asynchronous lookup, or it is over: datagrams go straight to OpenSSL.</summary>
        Off,

        /// <summary>Waiting for the ClientKeyExchange's identity.</summary>
        Scanning,

        /// <summary>The lookup runs; datagrams are held.</summary>
        Pending,

        /// <summary>The lookup is over and the held datagrams are being fed; new ones queue behind them.</summary>
        Replaying,
    }

    /// <summary>The finished lookup the psk server callback reads: the key, or why there is none.</summary>
    internal sealed record PskLookupResult(byte[] Identity, byte[]? Key, Exception? Error, bool Refused, int Limit);

    private void InitPskLookup()
    {
        if (_context.Settings is DtlsServerOptions { PskKeyLookupAsync: not null })
        {
            _pskPhase = PskLookupPhase.Scanning;
            _pskAssembler = new PskIdentityAssembler();
        }
    }

    /// <summary>Bounds this session's lookup by the listener's <see cref="DtlsListenerOptions.MaxPendingPskLookups"/>; set once, before the handshake.</summary>
    internal void UsePskLookupBudget(PskLookupBudget budget) => _pskBudget = budget;

    /// <summary>
    /// True when <paramref name="datagram"/> was taken (copied and held, or dropped over the hold
    /// bound) because a key lookup is running or has just started; false to process it now.
    /// </summary>
    private bool HoldForPskLookup(ReadOnlySpan<byte> datagram)
    {
        if (_pskPhase == PskLookupPhase.Off)
        {
            return false;
        }

        byte[] identity;
        CancellationToken cancellation;
        lock (PskGate)
        {
            switch (_pskPhase)
            {
                case PskLookupPhase.Off:
                    return false;
                case PskLookupPhase.Pending or PskLookupPhase.Replaying:
                    HoldLocked(datagram);
                    return true;
            }

            if (_state is SessionState.Established or SessionState.Closed or SessionState.Failed)
            {
                // A resumed handshake has no ClientKeyExchange: nothing to look up any more.
                _pskPhase = PskLookupPhase.Off;
                _pskAssembler = null;
                return false;
            }

            if (DtlsRecordFilter.Inspect(datagram, Volatile.Read(ref _minimumEncryptedRecord), Volatile.Read(ref _dtls13Framing)) == RecordVerdict.Malformed)
            {
                return false; // dropped by the filter; its fragments must not start a lookup
            }

            PskIdentityScan scan = _pskAssembler!.Add(datagram, out byte[]? complete);
            if (scan == PskIdentityScan.Incomplete)
            {
                return false;
            }

            _pskAssembler = null;
            if (scan == PskIdentityScan.Unusable)
            {
                _pskPhase = PskLookupPhase.Off; // OpenSSL refuses it itself; the callback finds no result
                return false;
            }

            identity = complete!;
            if (_pskBudget is { } budget && !budget.TryTake())
            {
                // Processed now: the callback fails the handshake with internal_error (NativeCallbacks.OnPskServer).
                _pskResult = new PskLookupResult(identity, null, null, Refused: true, budget.Max);
                _pskPhase = PskLookupPhase.Off;
                return false;
            }

            if (_pskBudget is not null)
            {
                _pskPlaceHeld = 1;
            }

            _pskPhase = PskLookupPhase.Pending;
            _pskHeld = new Queue<(byte[], int)>();
            HoldLocked(datagram);
            _pskCancel = new CancellationTokenSource();
            cancellation = _pskCancel.Token;
        }

        StartPskLookup(identity, cancellation);
        return true;
    }

    private void HoldLocked(ReadOnlySpan<byte> datagram)
    {
        if (_pskHeld is not { } held || held.Count >= MaxHeldDatagrams || _pskHeldBytes + datagram.Length > MaxHeldBytes)
        {
            return; // dropped: a retransmitted flight brings it again
        }

        byte[] copy = ArrayPool<byte>.Shared.Rent(datagram.Length);
        datagram.CopyTo(copy);
        held.Enqueue((copy, datagram.Length));
        _pskHeldBytes += datagram.Length;
    }

    private void StartPskLookup(byte[] identity, CancellationToken cancellation)
    {
        var request = new DtlsPskRequest(identity, RemoteEndPoint);
        // On the thread pool: not even the lookup's synchronous start runs on the receive loop. Never
        // skipped (CancellationToken.None): the budget's place must be given back.
        _pskLookup = Task.Run(() => RunPskLookupAsync(request, identity, cancellation), CancellationToken.None);
    }

    private async Task RunPskLookupAsync(DtlsPskRequest request, byte[] identity, CancellationToken cancellation)
    {
        byte[]? key = null;
        Exception? error = null;
        try
        {
            ReadOnlyMemory<byte>? found = await ((DtlsServerOptions)_context.Settings).PskKeyLookupAsync!(request, cancellation).ConfigureAwait(false);
            key = found is { Length: > 0 } k ? k.ToArray() : null;
        }
#pragma warning disable CA1031 // The application's exception fails this handshake only; it must never reach the pool.
        catch (Exception e)
#pragma warning restore CA1031
        {
            error = e;
        }
        finally
        {
            GivePskPlaceBack();
        }

        CompletePskLookup(new PskLookupResult(identity, key, error, Refused: false, 0));
    }

    /// <summary>Feeds the held datagrams to OpenSSL in order, on the lookup's thread; the receive loop queues behind them meanwhile.</summary>
    private void CompletePskLookup(PskLookupResult result)
    {
        lock (PskGate)
        {
            if (_pskPhase != PskLookupPhase.Pending)
            {
                ForgetKey(result);
                return; // disposed meanwhile
            }

            _pskResult = result;
            _pskPhase = PskLookupPhase.Replaying;
        }

        while (true)
        {
            (byte[] Buffer, int Length) next;
            lock (PskGate)
            {
                if (_pskHeld is not { } held || !held.TryDequeue(out next))
                {
                    _pskHeld = null;
                    _pskHeldBytes = 0;
                    _pskPhase = PskLookupPhase.Off;
                    return;
                }

                _pskHeldBytes -= next.Length;
            }

            try
            {
                FilterAndProcess(next.Buffer.AsSpan(0, next.Length));
            }
#pragma warning disable CA1031 // As on the receive loop: a datagram that breaks processing fails this session, not the pool thread.
            catch (Exception e)
#pragma warning restore CA1031
            {
                FailHandshake(e);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(next.Buffer);
            }
        }
    }

    /// <summary>The psk server callback's half: the finished lookup, taken once.</summary>
    internal PskLookupResult? TakePskLookupResult()
    {
        lock (PskGate)
        {
            PskLookupResult? result = _pskResult;
            _pskResult = null;
            return result;
        }
    }

    /// <summary>The handshake ended (failed, timed out, disposed): the lookup's token is cancelled and held datagrams go back to the pool.</summary>
    private void EndPskLookup()
    {
        if (_pskCancel is null && _pskHeld is null)
        {
            return;
        }

        CancellationTokenSource? cancel;
        lock (PskGate)
        {
            cancel = _pskCancel;
            _pskCancel = null;
            _pskPhase = PskLookupPhase.Off;
            while (_pskHeld is { } held && held.TryDequeue(out (byte[] Buffer, int Length) d))
            {
                ArrayPool<byte>.Shared.Return(d.Buffer);
            }

            _pskHeld = null;
            _pskHeldBytes = 0;
            if (_pskResult is { } result)
            {
                ForgetKey(result);
                _pskResult = null;
            }
        }

        // Not inline: the application's cancellation callbacks must not run under this session's locks.
        _ = cancel?.CancelAsync();
        if (Interlocked.Exchange(ref _pskPlaceHeld, 0) == 1)
        {
            // The handshake ended before its lookup: the place is the handshake's, so it is free now
            // even if the lookup ignores its token; one still running after the grace is reported.
            // The watch's timer starts before the place is given back (a test's clock sees it).
            if (_pskLookup is { } lookup)
            {
                _ = WatchAbandonedLookupAsync(lookup, _pskBudget!);
            }

            _pskBudget!.Give();
        }
    }

    /// <summary>The lookup returned: gives this handshake's place in the listener's lookup budget back, unless the handshake's end already did.</summary>
    private void GivePskPlaceBack()
    {
        if (Interlocked.Exchange(ref _pskPlaceHeld, 0) == 1)
        {
            _pskBudget!.Give();
        }
    }

    private async Task WatchAbandonedLookupAsync(Task lookup, PskLookupBudget budget)
    {
        try
        {
            await lookup.WaitAsync(PskLookupBudget.CancellationGrace, budget.Time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            budget.ReportAbandoned(PeerName);
        }
    }

    internal static void ForgetKey(PskLookupResult result)
    {
        if (result.Key is { } key)
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }
}
