namespace OpenSsl.Dtls;

/// <summary>
/// The one place configuration errors are made, so each names its setting the same way: the
/// message starts with the option's name and <see cref="ArgumentException.ParamName"/> is that name.
/// </summary>
internal static class SettingErrors
{
    public static ArgumentException Invalid(string setting, string message, Exception? inner = null) =>
        new(message.StartsWith(setting, StringComparison.Ordinal) ? message : $"{setting}: {message}", setting, inner);

    public static ArgumentOutOfRangeException OutOfRange(string setting, object? value, string message) =>
        new(setting, value, message);
}
