using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;

namespace VllmSharp.Runtime.Models;

/// <summary>
/// A decoder-only language model as the model runner sees it: one forward pass over a flattened batch of
/// mixed prefill and decode tokens, reading and writing the paged KV cache, returning logits only for the
/// rows named in <see cref="ForwardBatch.LogitsIndices"/>.
/// </summary>
public interface ICausalLM : IDisposable
{
    HfConfig Config { get; }
    DType DType { get; }
    int VocabSize { get; }
    int NumLayers { get; }
    int NumKvHeads { get; }
    int HeadDim { get; }

    /// <summary>Bytes of weights one decode step reads.</summary>
    long WeightBytesPerToken { get; }

    /// <summary>Parameters of the LM head (only the rows whose logits are asked for pass through it).</summary>
    long LmHeadParameters { get; }

    /// <summary>Weights multiplied per token, for FLOP counts (2 × this per token).</summary>
    long MatMulParametersPerToken { get; }

    /// <summary>Runs the batch; the result is [NumLogits × VocabSize] and stays valid until the next call.</summary>
    ReadOnlySpan<float> Forward(ForwardBatch batch, KVCacheTensors kvCache);
}
