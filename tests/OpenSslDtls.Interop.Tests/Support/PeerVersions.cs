using System.Collections.Concurrent;
using System.Diagnostics;
using OpenSslDtls.Samples.Tests;

namespace OpenSslDtls.Interop.Tests.Support;

/// <summary>The version of each peer used in this run, asked of the peer itself, for docs/interop.md.</summary>
internal static class PeerVersions
{
    public const string OpenSsl = "openssl";
    public const string GnuTls = "gnutls";
    public const string BouncyCastle = "BouncyCastle";
    public const string MbedTls = "mbedTLS";
    public const string Native = "native/ (C, libssl)";
    public const string Tshark = "tshark";

    private static readonly ConcurrentDictionary<string, string> Versions = new();

    public static IReadOnlyDictionary<string, string> Known() => Versions;

    /// <summary>Records the version of <paramref name="peer"/> once (the first line of <paramref name="tool"/>'s answer to <paramref name="arguments"/>).</summary>
    public static void Note(string peer, string tool, params string[] arguments) =>
        Versions.GetOrAdd(peer, _ => FirstLine(tool, arguments));

    /// <summary>gnutls-cli and gnutls-serv answer with their own name: the row shows the library's ("GnuTLS 3.7.9").</summary>
    public static void NoteGnuTls(string tool) =>
        Versions.GetOrAdd(GnuTls, _ => "GnuTLS " + FirstLine(tool, ["--version"]).Split(' ')[^1]);

    public static void NoteValue(string peer, string version) => Versions.TryAdd(peer, version);

    private static string FirstLine(string tool, string[] arguments)
    {
        try
        {
            var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string argument in arguments)
            {
                info.ArgumentList.Add(argument);
            }

            using Process process = Process.Start(info)!;
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(10_000))
            {
                process.Kill(entireProcessTree: true);
            }

            string text = output.Length > 0 ? output : stderr.Result;
            return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? "?";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "not installed";
        }
    }
}
