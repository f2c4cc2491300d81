namespace OpenSslDtls.Tests.Support;

/// <summary>
/// A private directory under the system temp path, for the files one test writes (PEM files, payloads),
/// deleted with everything in it on <see cref="Dispose"/>. Create it in <c>[SetUp]</c> and dispose it in
/// <c>[TearDown]</c>, or hold it in a <c>using</c>.
/// </summary>
public sealed class TempDirectory : IDisposable
{
    private TempDirectory(string path) => Path = path;

    /// <summary>The directory's full path.</summary>
    public string Path { get; }

    /// <summary>Creates an empty directory readable only by the current user (it will hold private keys).</summary>
    /// <param name="label">A readable part of the name, for example the test's name.</param>
    public static TempDirectory Create(string label = "test")
    {
        string safe = new(label.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').Take(48).ToArray());
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"openssldtls-{safe}-{Guid.NewGuid():N}");
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return new TempDirectory(path);
    }

    /// <summary>The full path of <paramref name="fileName"/> inside this directory (the file is not created).</summary>
    public string File(string fileName) => System.IO.Path.Combine(Path, fileName);

    /// <summary>Deletes the directory and its contents; harmless if already gone.</summary>
    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }

    /// <inheritdoc />
    public override string ToString() => Path;
}
