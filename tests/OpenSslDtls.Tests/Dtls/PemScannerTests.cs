using System.Security.Cryptography;
using System.Text;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>
/// The library finds PEM blocks with its own RFC 7468 scanner (src/Dtls/PemFiles.cs, linked into this
/// assembly) instead of .NET's <see cref="PemEncoding"/>, whose first call cost about 10 ms of JIT at cold
/// start. The BCL reader is the oracle: over a seeded sweep of real PEM files, hand-built blocks and their
/// mutations, both find the same blocks, labels and ends, block after block as IsEncryptedPrivateKey walks them.
/// </summary>
public sealed class PemScannerTests
{
    private const string Base64Characters = "ABCQRSgwxyz0189+/=  \n\t\r=-";
    private static readonly string[] Pieces =
        ["-----BEGIN ", "-----END ", "-----", " ", "\n", "\r\n", "\t", "=", "==", "A", "AAAA", "Zm9v", "-", "a-b", "a  b", "~", "\u00e9",
         "ENCRYPTED PRIVATE KEY", "PRIVATE KEY", "Proc-Type: 4,ENCRYPTED"];

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void The_scanner_finds_what_PemEncoding_finds(int seed)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string keyPem = key.ExportPkcs8PrivateKeyPem();
        string encryptedPem = key.ExportEncryptedPkcs8PrivateKeyPem("pw", new PbeParameters(PbeEncryptionAlgorithm.Aes128Cbc, HashAlgorithmName.SHA256, 1));
        string[] seeds =
        [
            keyPem, encryptedPem, "Bag Attributes\n" + keyPem + "\n" + encryptedPem, "-----BEGIN -----\n-----END -----",
            "x-----BEGIN A-----\n-----END A----- -----BEGIN B-----\nAA==\n-----END B-----",
        ];
        var random = new Random(seed);
        int found = 0;
        int missing = 0;
        for (int i = 0; i < 20_000; i++)
        {
            string text = random.Next(2) == 0 ? Mutate(seeds[random.Next(seeds.Length)], random) : Block(random);
            string rest = text; // both readers are given the same rest each time (asserted by the ends being equal)
            while (true)
            {
                bool expected = PemEncoding.TryFind(rest, out PemFields fields);
                bool actual = PemFiles.TryFind(rest, out Range label, out int end);
                string where = rest;
                Assert.That(actual, Is.EqualTo(expected), () => $"found or not, in {Quote(where)}");
                if (!expected)
                {
                    missing++;
                    break;
                }

                found++;
                Assert.That(rest[label], Is.EqualTo(rest[fields.Label]), () => $"label, in {Quote(where)}");
                Assert.That(end, Is.EqualTo(fields.Location.End.GetOffset(rest.Length)), () => $"end, in {Quote(where)}");
                rest = rest[end..];
            }
        }

        // The sweep must have exercised both outcomes many times, or it proves nothing.
        Assert.That(found, Is.GreaterThan(2_000));
        Assert.That(missing, Is.GreaterThan(2_000));
    }

    // "-----BEGIN L-----" + a short run of base64-ish characters + "-----END L-----", with what may come before and after.
    private static string Block(Random random)
    {
        string label = random.Next(3) switch { 0 => string.Empty, 1 => "A B", _ => "X-Y" };
        var body = new StringBuilder();
        for (int k = random.Next(12); k > 0; k--)
        {
            body.Append(Base64Characters[random.Next(Base64Characters.Length)]);
        }

        string before = random.Next(3) == 0 ? " " : string.Empty;
        string after = random.Next(3) switch { 0 => string.Empty, 1 => "x", _ => "xy" };
        return $"{before}-----BEGIN {label}-----{body}-----END {label}-----{after}";
    }

    private static string Mutate(string seed, Random random)
    {
        var text = new StringBuilder(seed);
        for (int m = random.Next(6); m > 0; m--)
        {
            int at = random.Next(text.Length + 1);
            switch (random.Next(4))
            {
                case 0 when at < text.Length:
                    text.Remove(at, Math.Min(random.Next(1, 8), text.Length - at));
                    break;
                case 1:
                    text.Insert(at, Base64Characters[random.Next(Base64Characters.Length)]);
                    break;
                case 2:
                    text.Insert(at, Pieces[random.Next(Pieces.Length)]);
                    break;
                case 3 when at < text.Length:
                    text[at] = Base64Characters[random.Next(Base64Characters.Length)];
                    break;
            }
        }

        if (random.Next(5) == 0)
        {
            text.Length = random.Next(text.Length + 1);
        }

        return text.ToString();
    }

    private static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text);
}
