using System.Runtime.InteropServices;
using OpenSsl.Interop;
using static OpenSsl.Interop.LibSsl;

namespace OpenSsl.Dtls;

/// <summary>
/// Every function OpenSSL calls back into (docs/architecture.md, ownership). Each finds its session through the
/// <c>SSL</c>'s app data, catches everything, stores the exception on the session and returns
/// failure to OpenSSL; the session rethrows it once the native call has returned.
/// </summary>
internal static unsafe class NativeCallbacks
{
    private static readonly int StoreCtxSslIndex = SSL_get_ex_data_X509_STORE_CTX_idx();

    private static DtlsSession? SessionOf(nint ssl)
    {
        nint data = ssl == 0 ? 0 : SSL_get_app_data(ssl);
        return data == 0 ? null : GCHandle.FromIntPtr(data).Target as DtlsSession;
    }

    private static DtlsSession? SessionOfStore(nint storeCtx) =>
        SessionOf(LibCrypto.X509_STORE_CTX_get_ex_data(storeCtx, StoreCtxSslIndex));

    /// <summary><c>SSL_verify_cb</c>: records each certificate error and lets verification continue.</summary>
    [UnmanagedCallersOnly]
    public static int OnVerifyCertificate(int preverifyOk, nint storeCtx)
    {
        DtlsSession? session = null;
        try
        {
            session = SessionOfStore(storeCtx);
            if (session is null)
            {
                return preverifyOk;
            }

            if (preverifyOk == 0)
            {
                session.Verification.Record(LibCrypto.X509_STORE_CTX_get_error(storeCtx), LibCrypto.X509_STORE_CTX_get_error_depth(storeCtx));
            }

            return 1;
        }
        catch (Exception e)
        {
            session?.StoreCallbackException(e);
            return 0;
        }
    }

    /// <summary>The <c>SSL_CTX_set_cert_verify_callback</c> callback: verifies the chain and decides once.</summary>
    [UnmanagedCallersOnly]
    public static int OnVerifyChain(nint storeCtx, nint arg)
    {
        DtlsSession? session = null;
        try
        {
            session = SessionOfStore(storeCtx);
            if (session is null)
            {
                return 0;
            }

            _ = LibCrypto.X509_verify_cert(storeCtx);
            byte[] leaf = LibCrypto.i2d_X509(LibCrypto.X509_STORE_CTX_get0_cert(storeCtx));
            bool accepted = session.Verification.Decide(leaf, () => LibCrypto.i2d_X509_stack(LibCrypto.X509_STORE_CTX_get0_untrusted(storeCtx)));
            LibCrypto.X509_STORE_CTX_set_error(storeCtx, accepted ? LibCrypto.X509_V_OK : session.Verification.NativeError);
            return accepted ? 1 : 0;
        }
        catch (Exception e)
        {
            session?.StoreCallbackException(e);
            LibCrypto.X509_STORE_CTX_set_error(storeCtx, LibCrypto.X509_V_ERR_APPLICATION_VERIFICATION);
            return 0;
        }
    }

    /// <summary>ALPN on the server: the first of our protocols, in our order, that the client offered (RFC 7301 §3.2).</summary>
    [UnmanagedCallersOnly]
    public static int OnSelectAlpn(nint ssl, byte** output, byte* outputLength, byte* input, uint inputLength, nint arg)
    {
        DtlsSession? session = null;
        try
        {
            session = SessionOf(ssl);
            if (session is null)
            {
                return SSL_TLSEXT_ERR_NOACK;
            }

            ReadOnlySpan<byte> ours = session.Context.AlpnWire;
            fixed (byte* server = ours)
            {
                if (SSL_select_next_proto(output, outputLength, server, (uint)ours.Length, input, inputLength) == OPENSSL_NPN_NEGOTIATED)
                {
                    // *output points into ours (the "server" argument): AlpnWire is pinned for the context's life,
                    // and the session keeps its context alive, so the pointer stays valid until OpenSSL copies it.
                    return SSL_TLSEXT_ERR_OK;
                }
            }

            // RFC 7301 §3.2: no protocol in common is a fatal no_application_protocol alert.
            return SSL_TLSEXT_ERR_ALERT_FATAL;
        }
        catch (Exception e)
        {
            session?.StoreCallbackException(e);
            return SSL_TLSEXT_ERR_ALERT_FATAL;
        }
    }

    [UnmanagedCallersOnly]
    public static void OnKeyLog(nint ssl, byte* line)
    {
        DtlsSession? session = null;
        try
        {
            session = SessionOf(ssl);
            if (session?.Context.Settings.KeyLog is { } keyLog)
            {
                keyLog(Marshal.PtrToStringUTF8((nint)line) ?? string.Empty);
            }
        }
        catch (Exception e)
        {
            // SSL_CTX_set_keylog_callback's callback returns nothing: OpenSSL would go on and finish.
            session?.UserCallbackFailed("KeyLog", e, openSslAborts: false);
        }
    }

    /// <summary>
    /// <c>SSL_psk_client_cb_func</c> (SSL_CTX_set_psk_client_callback(3)): writes the identity as a
    /// NUL-terminated string of at most <paramref name="maxIdentityLength"/> bytes including the
    /// terminator (option validation already refused identities with a zero byte or too long).
    /// </summary>
    [UnmanagedCallersOnly]
    public static uint OnPskClient(nint ssl, byte* hint, byte* identity, uint maxIdentityLength, byte* psk, uint maxPskLength)
    {
        DtlsSession? session = null;
        try
        {
            session = SessionOf(ssl);
            if (session?.Context.Settings is not DtlsClientOptions options)
            {
                return 0;
            }

            ReadOnlySpan<byte> id = session.Context.ClientPskIdentity;
            ReadOnlySpan<byte> key = options.PskKey.Span;
            if (options.PskCredentialSelector is { } selector)
            {
                byte[] hintBytes = hint == null ? [] : MemoryMarshal.CreateReadOnlySpanFromNullTerminated(hint).ToArray();
                DtlsPskCredential? credential;
                try
                {
                    credential = selector(hintBytes);
                }
                catch (Exception e)
                {
                    session.UserCallbackFailed("PskCredentialSelector", e, openSslAborts: true);
                    return 0;
                }

                if (credential is null)
                {
                    session.StoreCallbackException(new DtlsException($"PskCredentialSelector returned no credential for the server's identity hint '{DtlsPskRequest.TryDecode(hintBytes) ?? Convert.ToHexString(hintBytes)}'; the handshake was abandoned."));
                    return 0;
                }

                id = credential.Identity.Span;
                key = credential.Key.Span;
            }

            if (id.IsEmpty || id.Length + 1 > maxIdentityLength || key.Length > maxPskLength)
            {
                return 0;
            }

            id.CopyTo(new Span<byte>(identity, id.Length));
            identity[id.Length] = 0;
            key.CopyTo(new Span<byte>(psk, (int)maxPskLength));
            session.PskIdentityBytes = id.ToArray();
            return (uint)key.Length;
        }
        catch (Exception e)
        {
            session?.StoreCallbackException(e);
            return 0;
        }
    }

    /// <summary>
    /// <c>SSL_psk_server_cb_func</c> (SSL_CTX_set_psk_server_callback(3)). OpenSSL hands over the
    /// identity as a C string (<c>PACKET_strndup</c>), which ends at the first zero byte; the exact
    /// bytes come from the ClientKeyExchange the message callback saw just before
    /// (<see cref="DtlsSession.CaptureClientKeyExchange"/>), used when they agree with the C string.
    /// </summary>
    [UnmanagedCallersOnly]
    public static uint OnPskServer(nint ssl, byte* identity, byte* psk, uint maxPskLength)
    {
        DtlsSession? session = null;
        try
        {
            session = SessionOf(ssl);
            if (session?.Context.Settings is not DtlsServerOptions { HasPskLookup: true } options)
            {
                return 0;
            }

            ReadOnlySpan<byte> cString = identity == null ? [] : MemoryMarshal.CreateReadOnlySpanFromNullTerminated(identity);
            byte[] id = session.TakeWireIdentity(cString);
            session.PskIdentityBytes = id;
            if (options.PskKeyLookup is not { } lookup)
            {
                return FromAsyncLookup(session, id, psk, maxPskLength);
            }

            ReadOnlyMemory<byte>? key;
            try
            {
                key = lookup(new DtlsPskRequest(id, session.RemoteEndPoint));
            }
            catch (Exception e)
            {
                // Returning 0 makes OpenSSL refuse the identity with a fatal unknown_psk_identity alert.
                session.UserCallbackFailed("PskKeyLookup", e, openSslAborts: true);
                return 0;
            }

            if (key is not { Length: > 0 } k)
            {
                return 0; // Unknown identity: OpenSSL answers with a fatal unknown_psk_identity alert.
            }

            if (k.Length > maxPskLength)
            {
                session.StoreCallbackException(new InvalidOperationException($"PskKeyLookup returned a {k.Length}-byte key; OpenSSL accepts at most {maxPskLength} (PSK_MAX_PSK_LEN)."));
                return 0;
            }

            k.Span.CopyTo(new Span<byte>(psk, (int)maxPskLength));
            return (uint)k.Length;
        }
        catch (Exception e)
        {
            session?.StoreCallbackException(e);
            return 0;
        }
    }

    /// <summary>
    /// <see cref="OnPskServer"/> for <see cref="DtlsServerOptions.PskKeyLookupAsync"/>: the lookup
    /// finished before OpenSSL got the ClientKeyExchange (DtlsSession.PskLookup.cs); here its result
    /// is only copied out. No result, or one for other bytes, is an unknown identity.
    /// </summary>
    private static uint FromAsyncLookup(DtlsSession session, byte[] id, byte* psk, uint maxPskLength)
    {
        if (session.TakePskLookupResult() is not { } result)
        {
            return 0;
        }

        try
        {
            if (result.Refused)
            {
                session.StoreCallbackException(new DtlsException(
                    $"The DTLS handshake with {session.PeerName} was refused: {result.Limit} PSK key lookups were already in flight (DtlsListenerOptions.MaxPendingPskLookups)."));
                // statem_srvr.c (tls_process_cke_psk_preamble): a length above PSK_MAX_PSK_LEN is a
                // fatal internal_error alert, not unknown_psk_identity: the client's identity may be fine.
                return maxPskLength + 1;
            }

            if (result.Error is { } error)
            {
                session.UserCallbackFailed("PskKeyLookupAsync", error, openSslAborts: true);
                return 0;
            }

            if (result.Key is not { } key || !result.Identity.AsSpan().SequenceEqual(id))
            {
                return 0;
            }

            if (key.Length > maxPskLength)
            {
                session.StoreCallbackException(new InvalidOperationException($"PskKeyLookupAsync returned a {key.Length}-byte key; OpenSSL accepts at most {maxPskLength} (PSK_MAX_PSK_LEN)."));
                return 0;
            }

            key.CopyTo(new Span<byte>(psk, (int)maxPskLength));
            return (uint)key.Length;
        }
        finally
        {
            DtlsSession.ForgetKey(result);
        }
    }

    /// <summary>
    /// <c>SSL_CTX_set_tlsext_servername_callback</c>, installed on servers with
    /// <see cref="DtlsServerOptions.ServerContextSelector"/>: runs while OpenSSL processes the
    /// ClientHello, asks the selector for the context of the name the client sent (RFC 6066 §3) and
    /// moves the SSL to it (<c>SSL_set_SSL_CTX</c>: its certificate chain and key).
    /// </summary>
    [UnmanagedCallersOnly]
    public static int OnServerName(nint ssl, int* alert, nint arg)
    {
        DtlsSession? session = null;
        try
        {
            session = SessionOf(ssl);
            if (session?.Context.Settings is not DtlsServerOptions { ServerContextSelector: { } selector })
            {
                return SSL_TLSEXT_ERR_OK;
            }

            string? name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
            DtlsContext? selected;
            try
            {
                selected = selector(name);
            }
            catch (Exception e)
            {
                session.UserCallbackFailed("ServerContextSelector", e, openSslAborts: true);
                *alert = AlertInternalError;
                return SSL_TLSEXT_ERR_ALERT_FATAL;
            }

            if (selected is null || selected == session.Context)
            {
                return SSL_TLSEXT_ERR_OK;
            }

            if (!selected.IsServer || selected.IsDisposed)
            {
                session.StoreCallbackException(new InvalidOperationException(
                    $"ServerContextSelector returned {(selected.IsServer ? "a disposed" : "a client")} DtlsContext for the server name '{name}'; it must return a live server context, or null for the listener's own."));
                *alert = AlertInternalError;
                return SSL_TLSEXT_ERR_ALERT_FATAL;
            }

            if (SSL_set_SSL_CTX(ssl, selected.Handle) == 0)
            {
                session.StoreCallbackException(ErrorQueue.ToException("SSL_set_SSL_CTX"));
                *alert = AlertInternalError;
                return SSL_TLSEXT_ERR_ALERT_FATAL;
            }

            return SSL_TLSEXT_ERR_OK;
        }
        catch (Exception e)
        {
            session?.StoreCallbackException(e);
            *alert = AlertInternalError;
            return SSL_TLSEXT_ERR_ALERT_FATAL;
        }
    }

    private const int AlertInternalError = 80;

    /// <summary>Info callback: remembers the last alert sent or received, for the exception.</summary>
    [UnmanagedCallersOnly]
    public static void OnInfo(nint ssl, int where, int value)
    {
        try
        {
            if ((where & SSL_CB_ALERT) != 0)
            {
                SessionOf(ssl)?.RecordAlert(value, sent: (where & SSL_CB_WRITE) != 0);
            }
        }
        catch (Exception e)
        {
            SessionOf(ssl)?.StoreCallbackException(e);
        }
    }

    /// <summary>
    /// <c>SSL_CTX_set_cookie_generate_cb</c>: the listener's HMAC cookie for the session's peer
    /// (used only if OpenSSL itself ever sends a HelloVerifyRequest; the listener normally sends them).
    /// </summary>
    [UnmanagedCallersOnly]
    public static int OnGenerateCookie(nint ssl, byte* cookie, uint* cookieLength)
    {
        DtlsSession? session = null;
        try
        {
            session = SessionOf(ssl);
            if (session?.Transport is not IDtlsCookieIssuer issuer)
            {
                return 0;
            }

            *cookieLength = (uint)issuer.WriteCookie(new Span<byte>(cookie, DTLS1_COOKIE_LENGTH));
            return 1;
        }
        catch (Exception e)
        {
            session?.StoreCallbackException(e);
            return 0;
        }
    }

    /// <summary><c>SSL_CTX_set_cookie_verify_cb</c>: 1 if the cookie is the listener's HMAC for the session's peer address.</summary>
    [UnmanagedCallersOnly]
    public static int OnVerifyCookie(nint ssl, byte* cookie, uint cookieLength)
    {
        DtlsSession? session = null;
        try
        {
            session = SessionOf(ssl);
            return session?.Transport is IDtlsCookieIssuer issuer && issuer.VerifyCookie(new ReadOnlySpan<byte>(cookie, (int)Math.Min(cookieLength, DTLS1_COOKIE_LENGTH + 1))) ? 1 : 0;
        }
        catch (Exception e)
        {
            session?.StoreCallbackException(e);
            return 0;
        }
    }

    /// <summary>The message callback, installed on PSK servers only: feeds <see cref="DtlsSession.ObserveMessage"/>.</summary>
    [UnmanagedCallersOnly]
    public static void OnMessage(int writePath, int version, int contentType, byte* buffer, nuint length, nint ssl, nint arg)
    {
        DtlsSession? session = null;
        try
        {
            session = SessionOf(ssl);
            var message = new ReadOnlySpan<byte>(buffer, (int)Math.Min(length, int.MaxValue));
            if (writePath == 0 && contentType == SSL3_RT_HANDSHAKE)
            {
                session?.CaptureClientKeyExchange(message);
            }

            session?.ObserveMessage(writePath != 0, contentType, message);
        }
        catch (Exception e)
        {
            session?.StoreCallbackException(e);
        }
    }

    /// <summary>
    /// The session-ticket key callback (SSL_CTX_set_tlsext_ticket_key_evp_cb(3)): picks the key from the
    /// context's <see cref="SessionTicketKeyRing"/>. An exception fails the handshake (-1), stored on the session.
    /// </summary>
    [UnmanagedCallersOnly]
    public static int OnTicketKey(nint ssl, byte* keyName, byte* iv, nint cipherContext, nint macContext, int encrypt)
    {
        DtlsSession? session = null;
        try
        {
            session = SessionOf(ssl);
            return session?.Context.TicketKeys is { } ring ? ring.Apply(keyName, iv, cipherContext, macContext, encrypt != 0) : -1;
        }
        catch (Exception e)
        {
            session?.StoreCallbackException(e);
            return -1;
        }
    }

    /// <summary><c>DTLS_timer_cb</c>: the next retransmission interval in microseconds (0 = first flight).</summary>
    [UnmanagedCallersOnly]
    public static uint OnTimer(nint ssl, uint previousMicroseconds)
    {
        try
        {
            DtlsOptions? options = SessionOf(ssl)?.Context.Settings;
            long initial = (long)(options?.InitialRetransmitTimeout.TotalMicroseconds ?? 1_000_000);
            long maximum = (long)(options?.MaximumRetransmitTimeout.TotalMicroseconds ?? 60_000_000);
            long next = previousMicroseconds == 0 ? initial : Math.Min(previousMicroseconds * 2L, maximum);
            return (uint)Math.Clamp(next, 1, uint.MaxValue);
        }
        catch (Exception)
        {
            return 1_000_000; // Never let an exception cross into OpenSSL; RFC 6347's 1 s default.
        }
    }
}
