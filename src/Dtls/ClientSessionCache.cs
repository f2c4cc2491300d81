using OpenSsl.Interop;

namespace OpenSsl.Dtls;

/// <summary>
/// The client's resumable sessions, one per server (target host and endpoint), bounded so that a
/// client talking to many servers cannot grow without limit.
/// </summary>
internal sealed class ClientSessionCache : IDisposable
{
    private const int Capacity = 256;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SafeSslSessionHandle> _sessions = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private bool _disposed;

    /// <summary>The cache key of a server: the client's target host and the server's endpoint.</summary>
    public static string Key(string? targetHost, System.Net.IPEndPoint? remote) => $"{targetHost}|{remote}";

    public SafeSslSessionHandle? Find(string key)
    {
        lock (_gate)
        {
            return _sessions.GetValueOrDefault(key);
        }
    }

    public void Store(string key, SafeSslSessionHandle session)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                // The context was disposed while this session was handshaking: nobody will resume it.
                session.Dispose();
                return;
            }

            if (_sessions.Remove(key, out SafeSslSessionHandle? old))
            {
                old.Dispose();
            }
            else
            {
                _order.Enqueue(key);
                if (_order.Count > Capacity && _sessions.Remove(_order.Dequeue(), out SafeSslSessionHandle? evicted))
                {
                    evicted.Dispose();
                }
            }

            _sessions[key] = session;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            foreach (SafeSslSessionHandle session in _sessions.Values)
            {
                session.Dispose();
            }

            _sessions.Clear();
            _order.Clear();
        }
    }
}
