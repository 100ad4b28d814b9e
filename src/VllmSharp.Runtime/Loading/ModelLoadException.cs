namespace VllmSharp.Runtime.Loading;

/// <summary>
/// A model folder or file cannot be used. The message is always "<c>path: problem</c>" on one line so that a
/// user can find the file and act on it without reading a stack trace.
/// </summary>
public sealed class ModelLoadException : Exception
{
    public ModelLoadException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>The file or folder at fault.</summary>
    public string Path { get; }

    /// <summary>What is wrong with it, without the path.</summary>
    public string Problem { get; }
}
