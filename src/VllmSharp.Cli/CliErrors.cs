using VllmSharp.Engine.Tokenization;
using VllmSharp.Runtime.Loading;

namespace VllmSharp.Cli;

/// <summary>Turns a failure into the one line a user reads; unexpected failures keep their type name.</summary>
public static class CliErrors
{
    public static string Describe(Exception e) => e switch
    {
        AggregateException { InnerExceptions.Count: 1 } a => Describe(a.InnerException!),
        ModelLoadException or TokenizerLoadException or ArgumentException or NotSupportedException
            or FileNotFoundException or DirectoryNotFoundException or InvalidOperationException => e.Message,
        _ => $"{e.GetType().Name}: {e.Message}",
    };
}
