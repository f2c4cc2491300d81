using System.Threading.Tasks.Sources;

namespace OpenSsl.Dtls;

/// <summary>
/// A session's bounded queue of received datagrams: the part of a bounded <c>Channel&lt;T&gt;</c> the
/// session uses (try-write, peek, read, wait to read, complete), in one small object. A channel
/// preallocates a reader, a writer, four reusable async operations, a deque and a completion task:
/// about 750 bytes per session, a third of an idle session's GC heap at 10,000 sessions
/// (docs/benchmarks.md, "Memory per idle session"). The buffer is grown by doubling up to the bound
/// on first use, so a session that never receives holds none.
/// </summary>
/// <remarks>
/// Threads: any number of writers and readers; the lock is the caller's (the session's receive gate),
/// so that a peek and the read that follows it can be made atomic by holding it around both. One
/// waiter at a time is served allocation-free; further concurrent waiters each get a task. Waiters are
/// woken outside the lock with their continuations run asynchronously, as the channel did, so that a
/// reader's code never runs on the receive loop's thread.
/// </remarks>
internal sealed class ReceiveQueue<T> : IValueTaskSource<bool>
{
    private static readonly Exception s_completedWithoutError = new InvalidOperationException("completed");

    private readonly int _capacity;
    private readonly Lock _gate;
    private T[] _items = [];
    private int _head;
    private int _count;
    private Exception? _completion;
    private ManualResetValueTaskSourceCore<bool> _waiter = new() { RunContinuationsAsynchronously = true };
    private bool _waiterInUse; // handed out, and its result not yet taken by GetResult
    private bool _waiterArmed; // handed out and not yet woken
    private List<TaskCompletionSource<bool>>? _moreWaiters;

    public ReceiveQueue(int capacity, Lock gate)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _gate = gate;
    }

    /// <summary>Queues <paramref name="item"/>; false if the queue is full or completed (the caller keeps the item).</summary>
    public bool TryWrite(T item)
    {
        List<TaskCompletionSource<bool>>? more;
        bool wakeWaiter;
        lock (_gate)
        {
            if (_completion is not null || _count == _capacity)
            {
                return false;
            }

            if (_count == _items.Length)
            {
                Grow();
            }

            _items[(_head + _count) % _items.Length] = item;
            _count++;
            wakeWaiter = TakeWaiters(out more);
        }

        Wake(wakeWaiter, more, result: true, error: null);
        return true;
    }

    /// <summary>No more writes; readers get what is queued, then false (<paramref name="error"/> null) or <paramref name="error"/>. Only the first call counts.</summary>
    public bool TryComplete(Exception? error = null)
    {
        List<TaskCompletionSource<bool>>? more;
        bool wakeWaiter;
        lock (_gate)
        {
            if (_completion is not null)
            {
                return false;
            }

            _completion = error ?? s_completedWithoutError;
            wakeWaiter = TakeWaiters(out more);
        }

        // A waiter is only armed while the queue is empty, and any write since woke it: nothing is queued.
        Wake(wakeWaiter, more, result: false, error: error);
        return true;
    }

    public bool TryPeek(out T item) => TryTakeHead(out item, remove: false);

    public bool TryRead(out T item) => TryTakeHead(out item, remove: true);

    /// <summary>
    /// True when an item can be read, false once completed without error and empty; throws the
    /// completion's error once completed with one and empty (as <c>ChannelReader.WaitToReadAsync</c>).
    /// </summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (_gate)
        {
            if (_count > 0)
            {
                return new ValueTask<bool>(true);
            }

            if (_completion is { } completion)
            {
                return completion == s_completedWithoutError ? new ValueTask<bool>(false) : ValueTask.FromException<bool>(completion);
            }

            if (!_waiterInUse)
            {
                _waiterInUse = true;
                _waiterArmed = true;
                _waiter.Reset();
                return new ValueTask<bool>(this, _waiter.Version);
            }

            var another = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            (_moreWaiters ??= []).Add(another);
            return new ValueTask<bool>(another.Task);
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token)
    {
        try
        {
            return _waiter.GetResult(token);
        }
        finally
        {
            lock (_gate)
            {
                _waiterInUse = false;
            }
        }
    }

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _waiter.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _waiter.OnCompleted(continuation, state, token, flags);

    private bool TakeWaiters(out List<TaskCompletionSource<bool>>? more)
    {
        more = _moreWaiters;
        _moreWaiters = null;
        bool armed = _waiterArmed;
        _waiterArmed = false;
        return armed;
    }

    private void Wake(bool wakeWaiter, List<TaskCompletionSource<bool>>? more, bool result, Exception? error)
    {
        if (wakeWaiter)
        {
            if (error is null)
            {
                _waiter.SetResult(result);
            }
            else
            {
                _waiter.SetException(error);
            }
        }

        if (more is null)
        {
            return;
        }

        foreach (TaskCompletionSource<bool> waiter in more)
        {
            if (error is null)
            {
                waiter.TrySetResult(result);
            }
            else
            {
                waiter.TrySetException(error);
            }
        }
    }

    private bool TryTakeHead(out T item, bool remove)
    {
        lock (_gate)
        {
            if (_count == 0)
            {
                item = default!;
                return false;
            }

            item = _items[_head];
            if (remove)
            {
                _items[_head] = default!;
                _head = (_head + 1) % _items.Length;
                _count--;
            }

            return true;
        }
    }

    private void Grow()
    {
        var grown = new T[Math.Min(_capacity, Math.Max(4, _items.Length * 2))];
        for (int i = 0; i < _count; i++)
        {
            grown[i] = _items[(_head + i) % _items.Length];
        }

        _items = grown;
        _head = 0;
    }
}
