using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests;

/// <summary>Deletes the run's scratch directory (build outputs, certificates, the package feed) once every test is done.</summary>
[SetUpFixture]
public sealed class ScratchCleanup
{
    [OneTimeTearDown]
    public void DeleteScratch()
    {
        if (Repository.ScratchCreated && Environment.GetEnvironmentVariable("KEEP_SAMPLES_TEST_SCRATCH") is null)
        {
            try
            {
                Directory.Delete(Repository.Scratch, recursive: true);
            }
            catch (IOException)
            {
                // A process that refused to die may still hold a file; /tmp is cleaned eventually.
            }
        }
    }
}
