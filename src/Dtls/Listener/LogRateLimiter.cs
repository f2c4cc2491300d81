namespace OpenSsl.Dtls;

/// <summary>
/// Lets at most a fixed number of log lines through per second and counts the rest, so that a flood
/// of refused handshakes (anyone can send ClientHellos) cannot fill a disk: the next line that gets
/// through says how many were held back. Thread-safe; allocation-free.
/// </summary>
internal sealed class LogRateLimiter(int linesPerSecond, TimeProvider time)
{
    private readonly Lock _gate = new();
    private long _windowStart;
    private int _inWindow;
    private long _suppressed;

    /// <summary>True if a line may be written now; <paramref name="suppressedBefore"/> is how many were held back since the last one written.</summary>
    public bool TryEnter(out long suppressedBefore)
    {
        long now = time.GetTimestamp();
        lock (_gate)
        {
            if (now - _windowStart >= time.TimestampFrequency)
            {
                _windowStart = now;
                _inWindow = 0;
            }

            if (_inWindow < linesPerSecond)
            {
                _inWindow++;
                suppressedBefore = _suppressed;
                _suppressed = 0;
                return true;
            }

            _suppressed++;
            suppressedBefore = 0;
            return false;
        }
    }
}
