using VllmSharp.Engine.Tokenization;
using VllmSharp.Runtime.Models;

namespace VllmSharp.Cli;

/// <summary>A model and its tokenizer, loaded from one folder.</summary>
public sealed record LoadedModel(string Directory, ICausalLM Model, ITokenizer Tokenizer) : IDisposable
{
    public void Dispose() => Model.Dispose();
}
