namespace OpenSslDtls.Interop.Tests.Support;

/// <summary>One row of the matrix: which peer, which side we play, what is exercised, and the peer's command.</summary>
public sealed record InteropRow(string Peer, string Direction, string Feature, string Command)
{
    /// <summary>The peer's command line, as docs/interop.md shows it.</summary>
    public string Command { get; set; } = Command;

    /// <summary>Filled when the test ends: pass, FAIL, or a peer limitation.</summary>
    public string Result { get; set; } = "not run";

    /// <summary>What the peer reported or what was measured (for the notes column).</summary>
    public string Note { get; set; } = string.Empty;

    public string Key => $"{Peer} | {Direction} | {Feature}";
}
