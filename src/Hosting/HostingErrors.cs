namespace OpenSsl.Dtls.Hosting;

/// <summary>
/// The one place the hosting package makes configuration errors, as the library's own do: the message
/// starts with the option's name and <see cref="ArgumentException.ParamName"/> is that name.
/// </summary>
internal static class HostingErrors
{
    public static ArgumentException Invalid(string setting, string message, Exception? inner = null) =>
        new(message.StartsWith(setting, StringComparison.Ordinal) ? message : $"{setting}: {message}", setting, inner);
}
