using Microsoft.Extensions.Logging;
using OpenSsl.Interop;

namespace OpenSsl.Dtls;

/// <summary>
/// Says once per process which OpenSSL the library runs on (version text, both paths, which rule chose
/// them: <see cref="OpenSslLibrary.Info"/>), the first time a component that has a logger starts.
/// Behaviour differs between OpenSSL versions (docs/openssl-versions.md), so every support question
/// starts with this line.
/// </summary>
internal static partial class OpenSslLog
{
    private static int _logged;

    /// <summary>Logs the loaded OpenSSL at Information the first time a caller whose logger has Information enabled gets here; later calls do nothing.</summary>
    public static void LoadedOnce(ILogger logger)
    {
        if (logger.IsEnabled(LogLevel.Information) && Interlocked.Exchange(ref _logged, 1) == 0)
        {
            OpenSslLibraryInfo info = OpenSslLibrary.Info;
            Loaded(logger, info.VersionText, info.LibSslPath, info.LibCryptoPath, info.Source);
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "OpenSslDtls runs on {OpenSslVersion} (libssl {LibSsl}, libcrypto {LibCrypto}, chosen by {Source})")]
    private static partial void Loaded(ILogger logger, string openSslVersion, string libSsl, string libCrypto, OpenSslLibrarySource source);
}
