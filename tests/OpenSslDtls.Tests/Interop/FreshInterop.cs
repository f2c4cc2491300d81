using System.Reflection;
using System.Runtime.Loader;
using NUnit.Framework;
using OpenSsl.Interop;

namespace OpenSslDtls.Tests.Interop;

/// <summary>
/// The resolver of this process's OpenSsl.Interop is locked since its first native call, so a test of how
/// OpenSSL is found runs in a fresh copy of the assembly, in a collectible load context of its own, through
/// reflection. (The native libraries it loads stay loaded: a process cannot unload libcrypto safely.)
/// </summary>
internal static class FreshInterop
{
    /// <summary>Runs <paramref name="setUp"/> on the fresh <see cref="OpenSslLibrary"/> type, then <see cref="OpenSslLibrary.EnsureLoaded"/>; returns what it threw, or null.</summary>
    public static Exception? TryLoad(Action<Type>? setUp, out LoadedView? loaded)
    {
        var context = new AssemblyLoadContext($"{nameof(FreshInterop)}-{Guid.NewGuid():N}", isCollectible: true);
        try
        {
            Assembly fresh = context.LoadFromAssemblyPath(typeof(OpenSslLibrary).Assembly.Location);
            Assert.That(fresh, Is.Not.SameAs(typeof(OpenSslLibrary).Assembly), "a second copy of OpenSsl.Interop");
            Type library = fresh.GetType(typeof(OpenSslLibrary).FullName!, throwOnError: true)!;
            setUp?.Invoke(library);
            try
            {
                library.GetMethod(nameof(OpenSslLibrary.EnsureLoaded))!.Invoke(null, null);
            }
            catch (TargetInvocationException e)
            {
                loaded = null;
                return e.InnerException;
            }

            object info = library.GetProperty(nameof(OpenSslLibrary.Info))!.GetValue(null)!;
            string Read(string name) => info.GetType().GetProperty(name)!.GetValue(info)!.ToString()!;
            loaded = new LoadedView(Read(nameof(OpenSslLibraryInfo.LibSslPath)), Read(nameof(OpenSslLibraryInfo.LibCryptoPath)),
                Read(nameof(OpenSslLibraryInfo.Source)), Read(nameof(OpenSslLibraryInfo.VersionText)));
            return null;
        }
        finally
        {
            context.Unload();
        }
    }

    /// <summary>Loads in a fresh copy and expects <see cref="PlatformNotSupportedException"/>.</summary>
    public static PlatformNotSupportedException LoadExpectingFailure(Action<Type>? setUp)
    {
        Exception? thrown = TryLoad(setUp, out LoadedView? loaded);
        Assert.That(thrown, Is.TypeOf<PlatformNotSupportedException>(), () => $"loaded {loaded} instead of failing");
        return (PlatformNotSupportedException)thrown!;
    }

    /// <summary>Calls the fresh copy's <see cref="OpenSslLibrary.SetLibraryDirectory"/>.</summary>
    public static Action<Type> Directory(string directory) =>
        library => library.GetMethod(nameof(OpenSslLibrary.SetLibraryDirectory))!.Invoke(null, [directory]);

    /// <summary>What a fresh copy loaded (its <see cref="OpenSslLibraryInfo"/>, read through reflection).</summary>
    public sealed record LoadedView(string LibSslPath, string LibCryptoPath, string Source, string VersionText);
}
