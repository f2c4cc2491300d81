// DTLS echo server as a .NET Generic Host service, through OpenSsl.Dtls.Hosting: the listener's
// settings come from the "Dtls" section of appsettings.json (next to the program), overridable by
// environment variables (Dtls__Endpoints__0__Port=0) or the command line (--Dtls:Endpoints:0:Port=0).
// Prints "listening on ADDRESS:PORT" per endpoint on stdout when ready (logs go to stderr). Ctrl+C or
// SIGTERM drains: running sessions may finish within shutdownTimeoutSeconds, then they are closed
// (close_notify) and the program exits 0. A bad configuration exits 1 with a message naming the option.
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using OpenSsl.Dtls;
using OpenSsl.Dtls.Hosting;
using OpenSslDtls.Samples.HostedEchoServer;

HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
{
    Args = args,
    ContentRootPath = AppContext.BaseDirectory,
});
// stdout carries only the "listening on" lines that scripts and tests read.
builder.Services.Configure<ConsoleLoggerOptions>(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Logging.AddSimpleConsole(format => format.SingleLine = true);
builder.Services.AddDtlsListener(builder.Configuration.GetSection("Dtls")).UseSessionHandler<EchoHandler>();
// The listener's health (listening, sessions against MaxSessions); an ASP.NET Core host exposes it with MapHealthChecks.
builder.Services.AddHealthChecks().AddDtlsListener();

using IHost host = builder.Build();
try
{
    await host.StartAsync();
}
catch (Exception e) when (e is ArgumentException or InvalidOperationException or SocketException)
{
    // A configuration error names its option (ArgumentException.ParamName), for example PrivateKeyFile.
    Console.Error.WriteLine($"HostedEchoServer: {e.Message}");
    return 1;
}

foreach (DtlsListener listener in host.Services.GetDtlsListenerService().Listeners)
{
    // The one line per endpoint scripts and tests wait for (the port is the text after the last ':').
    Console.Out.WriteLine($"listening on {listener.LocalEndPoint.Address}:{listener.LocalEndPoint.Port}");
}

Console.Out.Flush();
await host.WaitForShutdownAsync();
return 0;
