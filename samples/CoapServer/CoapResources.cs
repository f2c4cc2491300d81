using System.Globalization;
using System.Text;

namespace OpenSslDtls.Samples.CoapServer;

/// <summary>What a resource answers: the response code, its Content-Format, Max-Age (seconds, null: the default 60) and payload.</summary>
internal sealed record CoapReply(byte Code, uint? ContentFormat = null, uint? MaxAge = null, string Payload = "");

/// <summary>
/// The server's resources: <c>/.well-known/core</c> (RFC 6690 link format), <c>/hello</c> (greets the
/// device by its PSK identity or certificate subject) and <c>/time</c> (the UTC time). All are GET-only.
/// </summary>
internal static class CoapResources
{
    // RFC 6690 §5: one link per resource, with its type, title and content format.
    private const string Links = "</hello>;rt=\"greeting\";title=\"Hello\";ct=0,</time>;rt=\"clock\";title=\"UTC time\";ct=0";

    /// <summary>Answers a request for <paramref name="path"/> (segments joined with '/', leading '/').</summary>
    /// <param name="device">Who the DTLS handshake authenticated: a PSK identity or a certificate subject, if any.</param>
    public static CoapReply Handle(byte method, string path, uint? accept, string? device)
    {
        (uint Format, Func<CoapReply> Get)? resource = path switch
        {
            "/.well-known/core" => (CoapCode.LinkFormat, () => new CoapReply(CoapCode.Content, CoapCode.LinkFormat, Payload: Links)),
            "/hello" => (CoapCode.TextPlain, () => new CoapReply(CoapCode.Content, CoapCode.TextPlain, Payload: $"Hello, {device ?? "anonymous"}!")),
            // Max-Age 1 (§5.10.5): a cache must not serve the time for longer than a second.
            "/time" => (CoapCode.TextPlain, () => new CoapReply(CoapCode.Content, CoapCode.TextPlain, 1, DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture))),
            _ => null,
        };

        if (resource is not { } found)
        {
            return new CoapReply(CoapCode.NotFound, CoapCode.TextPlain, Payload: $"no resource at {path}");
        }

        if (method != CoapCode.Get)
        {
            return new CoapReply(CoapCode.MethodNotAllowed, CoapCode.TextPlain, Payload: "only GET is allowed");
        }

        // An Accept the resource cannot meet is 4.06 (§5.10.4).
        return accept is { } wanted && wanted != found.Format ? new CoapReply(CoapCode.NotAcceptable) : found.Get();
    }

    /// <summary>The Uri-Path options joined into "/a/b"; no Uri-Path means "/" (§6.5).</summary>
    public static string PathOf(CoapMessage request) =>
        "/" + string.Join('/', request.OptionValues(CoapCode.UriPath).Select(segment => Encoding.UTF8.GetString(segment)));
}
