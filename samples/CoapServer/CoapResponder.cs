using System.Text;

namespace OpenSslDtls.Samples.CoapServer;

/// <summary>
/// The CoAP message layer of one DTLS session (RFC 7252 §4, §5): turns each received datagram into
/// at most one datagram to send back. Not thread-safe: one per session, called from its receive loop.
/// </summary>
internal sealed class CoapResponder(string? device)
{
    // Critical options (odd numbers) this server understands; any other critical option in a request
    // is 4.02 Bad Option (§5.4.1). Elective ones (even numbers) are ignored.
    private static readonly HashSet<int> KnownCriticalOptions = [CoapCode.UriHost, CoapCode.UriPort, CoapCode.UriPath, CoapCode.UriQuery, CoapCode.Accept];

    // Message IDs of our NON responses (§4.4: any start value, then one up per message).
    private ushort _nextMessageId = (ushort)Random.Shared.Next(ushort.MaxValue + 1);

    /// <summary>The reply to <paramref name="datagram"/>, or null when nothing is to be sent.</summary>
    public byte[]? Respond(ReadOnlySpan<byte> datagram)
    {
        CoapMessage? message = CoapMessage.TryParse(datagram, out _);
        if (message is null)
        {
            // A malformed CON is rejected with RST (§4.2); a malformed NON, ACK or RST is silently ignored (§4.3).
            return CoapMessage.TryReadHeader(datagram, out CoapType type, out ushort id) && type == CoapType.Confirmable
                ? CoapMessage.Empty(CoapType.Reset, id).ToBytes()
                : null;
        }

        if (message.Code == CoapCode.Empty)
        {
            // An empty CON is a CoAP ping, answered with RST (§4.3); empty ACKs and RSTs need no answer.
            return message.Type == CoapType.Confirmable ? CoapMessage.Empty(CoapType.Reset, message.MessageId).ToBytes() : null;
        }

        if (!CoapCode.IsRequest(message.Code) || message.Type is CoapType.Acknowledgement or CoapType.Reset)
        {
            // A response to us (we send no CON) or a non-empty ACK/RST: reject a CON, ignore the rest (§4.2, §4.3).
            return message.Type == CoapType.Confirmable ? CoapMessage.Empty(CoapType.Reset, message.MessageId).ToBytes() : null;
        }

        CoapReply reply = Answer(message);
        var options = new List<CoapOption>();
        if (reply.ContentFormat is { } format)
        {
            options.Add(new CoapOption(CoapCode.ContentFormat, CoapMessage.UintValue(format)));
        }

        if (reply.MaxAge is { } maxAge)
        {
            options.Add(new CoapOption(CoapCode.MaxAge, CoapMessage.UintValue(maxAge)));
        }

        // A CON request gets its response piggybacked on the ACK, same message ID (§5.2.1); a NON
        // request gets a NON response with a new message ID (§5.2.3). Both echo the token (§5.3.2).
        // GET is idempotent, so a retransmitted CON is simply answered again (§4.5).
        (CoapType responseType, ushort messageId) = message.Type == CoapType.Confirmable
            ? (CoapType.Acknowledgement, message.MessageId)
            : (CoapType.NonConfirmable, _nextMessageId++);
        return new CoapMessage(responseType, reply.Code, messageId, message.Token, options, Encoding.UTF8.GetBytes(reply.Payload)).ToBytes();
    }

    private CoapReply Answer(CoapMessage request)
    {
        if (request.Options.FirstOrDefault(o => o.Number % 2 == 1 && !KnownCriticalOptions.Contains(o.Number)) is { Value: not null } unknown)
        {
            return new CoapReply(CoapCode.BadOption, CoapCode.TextPlain, Payload: $"unsupported critical option {unknown.Number}");
        }

        uint? accept = request.OptionValues(CoapCode.Accept).Select(v => (uint?)CoapMessage.ReadUint(v)).FirstOrDefault();
        return CoapResources.Handle(request.Code, CoapResources.PathOf(request), accept, device);
    }
}
