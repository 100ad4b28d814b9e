using System.Diagnostics;
using VllmSharp.Core.Config;
using VllmSharp.Engine.Core;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Engine;

/// <summary>
/// The offline engine (vLLM's <c>LLM</c> class): loads a model once and runs batches of prompts to completion with
/// continuous batching, on the caller's thread. Split by concern into partial files (generation now; chat,
/// pooling and beam search later).
/// </summary>
public sealed partial class LLM : IDisposable
{
    private readonly LoadedEngine _engine;
    private readonly InputProcessor _inputProcessor;
    private long _requestCounter;

    public LLM(EngineArgs args, Action<string>? log = null)
    {
        _engine = EngineFactory.Create(args, log);
        _inputProcessor = new InputProcessor(_engine.Tokenizer, _engine.MaxModelLen, _engine.BlockSize, _engine.PromptVocabSize);
    }

    public ITokenizer Tokenizer => _engine.Tokenizer;
    public int MaxModelLen => _engine.MaxModelLen;
    internal EngineCore EngineCore => _engine.Core;

    /// <summary>Weights multiplied per token (for FLOP counts: 2 × this per token).</summary>
    public long MatMulParametersPerToken => _engine.Core.ModelRunner.Model.MatMulParametersPerToken;

    private static double Now() => Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;

    public void Dispose() => _engine.Dispose();
}
