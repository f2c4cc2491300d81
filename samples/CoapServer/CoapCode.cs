namespace OpenSslDtls.Samples.CoapServer;

/// <summary>Method and response codes, <c>c.dd</c> packed as <c>c &lt;&lt; 5 | dd</c> (RFC 7252 §3, §12.1), and option numbers (§5.10).</summary>
internal static class CoapCode
{
    public const byte Empty = 0x00;
    public const byte Get = 0x01;
    public const byte Post = 0x02;
    public const byte Put = 0x03;
    public const byte Delete = 0x04;
    public const byte Content = 0x45;          // 2.05
    public const byte BadOption = 0x82;        // 4.02
    public const byte NotFound = 0x84;         // 4.04
    public const byte MethodNotAllowed = 0x85; // 4.05
    public const byte NotAcceptable = 0x86;    // 4.06

    public const int UriHost = 3;
    public const int UriPort = 7;
    public const int UriPath = 11;
    public const int ContentFormat = 12;
    public const int MaxAge = 14;
    public const int UriQuery = 15;
    public const int Accept = 17;

    /// <summary>Content-Format numbers (§12.3, RFC 6690 §7.2).</summary>
    public const uint TextPlain = 0;
    public const uint LinkFormat = 40;

    /// <summary><c>c.dd</c>, as RFC 7252 and coap-client print codes.</summary>
    public static string Format(byte code) => $"{code >> 5}.{code & 0x1F:D2}";

    /// <summary>0.01-0.31 are requests (§12.1.1); 0.00 is the empty message.</summary>
    public static bool IsRequest(byte code) => code is > Empty and < 0x20;
}
