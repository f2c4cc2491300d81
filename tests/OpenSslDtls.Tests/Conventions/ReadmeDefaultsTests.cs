using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Conventions;

/// <summary>
/// README.md's option tables state defaults; each stated default that is a number, a time, a size, on/off
/// or "none"/"random" is read off a new options object and compared. Rows whose default is prose
/// ("the system store", "newest the libssl has") are the ones checked by behaviour elsewhere.
/// </summary>
public partial class ReadmeDefaultsTests
{
    private static readonly object?[] Instances = [new DtlsServerOptions(), new DtlsClientOptions(), new DtlsListenerOptions()];

    [Test]
    public void Every_default_the_option_tables_state_is_the_real_one()
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        var checkedOptions = new List<string>();
        Assert.Multiple(() =>
        {
            foreach (Match row in TableRow().Matches(readme))
            {
                string[] names = [.. OptionName().Matches(row.Groups[1].Value).Select(m => m.Groups[1].Value)];
                // "1024, on, random; on": the defaults in the order of the names, ';' between option groups ("10,000" is one number).
                string[] defaults = [.. ListSeparator().Split(row.Groups[2].Value.Trim()).Select(d => d.Trim())];
                if (names.Length != defaults.Length)
                {
                    continue; // a default shared by several names, or prose
                }

                for (int i = 0; i < names.Length; i++)
                {
                    PropertyInfo? property = Instances.Select(o => o!.GetType().GetProperty(names[i])).FirstOrDefault(p => p is not null);
                    if (property is null || Parse(defaults[i], property.PropertyType) is not { } expected)
                    {
                        continue;
                    }

                    object owner = Instances.First(o => o!.GetType().GetProperty(names[i]) is not null)!;
                    object? actual = Normalize(property.GetValue(owner));
                    Assert.That(actual, Is.EqualTo(expected.Value), $"README.md says {names[i]} defaults to '{defaults[i]}'");
                    checkedOptions.Add(names[i]);
                }
            }
        });

        // The sweep must have found the tables: the limits and timers at least.
        Assert.That(checkedOptions, Is.SupersetOf(new[] { "Mtu", "HandshakeTimeout", "SessionCacheSize", "MaxSessions", "IdleTimeout", "MaxQueuedBytes", "CookieLifetime" }));
    }

    // A stated default as the value an options object would hold, or null when the text is prose.
    private static Box? Parse(string text, Type type)
    {
        Type t = Nullable.GetUnderlyingType(type) ?? type;
        if (text is "none")
        {
            return new Box(null);
        }

        if (text is "random")
        {
            return t == typeof(ReadOnlyMemory<byte>) ? new Box(string.Empty) : null;
        }

        if (t == typeof(bool))
        {
            return text switch { "on" or "true" => new Box(true), "off" or "false" => new Box(false), _ => null };
        }

        if (Duration().Match(text) is { Success: true } d)
        {
            double amount = double.Parse(d.Groups[1].Value, CultureInfo.InvariantCulture);
            return new Box(d.Groups[2].Value == "min" ? TimeSpan.FromMinutes(amount) : TimeSpan.FromSeconds(amount));
        }

        if (Size().Match(text) is { Success: true } s)
        {
            return new Box(long.Parse(s.Groups[1].Value, CultureInfo.InvariantCulture) * 1024 * 1024);
        }

        return long.TryParse(text.Replace(",", string.Empty, StringComparison.Ordinal), NumberStyles.None, CultureInfo.InvariantCulture, out long number)
            ? new Box(number)
            : null;
    }

    private static object? Normalize(object? value) => value switch
    {
        int i => (long)i,
        ReadOnlyMemory<byte> m => Convert.ToHexString(m.Span),
        System.Collections.ICollection { Count: 0 } => null,
        _ => value,
    };

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? d = new(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "OpenSslDtls.sln")))
            {
                return d.FullName;
            }
        }

        string? recorded = typeof(ReadmeDefaultsTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value;
        return recorded ?? throw new DirectoryNotFoundException("OpenSslDtls.sln not found");
    }

    [GeneratedRegex(@"^\| (`[^|]+) \| ([^|]+) \|", RegexOptions.Multiline)]
    private static partial Regex TableRow();

    [GeneratedRegex(@"[,;] ")]
    private static partial Regex ListSeparator();

    [GeneratedRegex(@"`([A-Za-z]+)`")]
    private static partial Regex OptionName();

    [GeneratedRegex(@"^([0-9.]+) (s|min)$")]
    private static partial Regex Duration();

    [GeneratedRegex(@"^([0-9]+) MiB$")]
    private static partial Regex Size();

    private sealed record Box(object? Value);
}
