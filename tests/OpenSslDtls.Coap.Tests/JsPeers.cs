using System.Text.Json;
using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests.Coap;

/// <summary>
/// The npm peers in tests/js (node-dtls-client, node-coap-client, werift-dtls), installed there with
/// .ci/peers-coap.sh (npm install --no-save against the lock file). Missing node or packages fail on CI and skip elsewhere.
/// </summary>
internal static class JsPeers
{
    public static string Directory => Repository.PathOf("tests", "js");

    /// <summary>The path of node and of <paramref name="script"/>, after checking that node and the packages are there.</summary>
    public static (string Node, string Script) Require(string script)
    {
        string node = ExternalTool.Require("node", "nodejs");
        if (!System.IO.Directory.Exists(Path.Combine(Directory, "node_modules", "werift-dtls")))
        {
            ExternalTool.Missing($"the npm peers are not installed: run bash .ci/peers-coap.sh (npm install --no-save in {Directory})");
        }

        return (node, Path.Combine(Directory, script));
    }

    /// <summary>The last stdout line of a script, parsed (each script prints its result as one JSON line).</summary>
    public static JsonElement Result(PeerProcess process)
    {
        string? line = process.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        Assert.That(line, Is.Not.Null, $"no JSON line from the script.\n{process.Report()}");
        using JsonDocument document = JsonDocument.Parse(line!);
        return document.RootElement.Clone();
    }
}
