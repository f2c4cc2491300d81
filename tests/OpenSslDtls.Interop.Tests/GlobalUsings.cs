global using OpenSslDtls.Samples.Tests;
